"""One judge: every case the offline lint once passed and the plugin refused, every spelling of a
local address, every hiding place of a secret and the older plugin's values, through the lint CLI
(one inventory, one host per case) and through the plugin in a real Orthanc (one per case): the
same codes on both sides, and no secret in either's output."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from testenv.orthanc import OrthancServer
from tests.conftest import STATE_DIR
from tests.e2e.conftest import CREDENTIALS
from tests.helpers.collection import ROOT

SECRET = "never-shown-s3cret-77"
BASE = {"Url": "https://pacs.example.org/dicom-web", "TokenEndpoint": "https://idp.example.org/token",
        "ClientId": "orthanc", "ClientSecret": SECRET}
ENC = "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="

# id -> (server keys to change, None removes; top-level keys; the code expected, None = accepted)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], Optional[str]]] = {
    # once accepted by the lint, refused by the plugin
    "generic-without-credentials": ({"ClientId": None, "ClientSecret": None}, {}, "CFG-007"),
    "authorization-header": ({"HttpHeaders": {"Authorization": f"Basic {SECRET}"}}, {}, "SEC-006"),
    "older-proxy-url": ({"Url": "https://pacs.example.org/oauth-dicom-web/servers/pacs"}, {}, "CFG-005"),
    "redis-without-key": ({}, {"Cache": {"Backend": "redis", "RedisUrl": "redis://redis.example.org:6379/0"}},
                          "CFG-008"),
    "unknown-resilience-key": ({"ResilienceConfig": {"RetryMaxAttempts": 2, "Jitter": True}}, {}, "CFG-004"),
    "jwt-without-key-source": ({"ValidateJWT": True}, {}, "CFG-007"),
    # malformed sections that crashed the lint
    **{f"servers-as-{kind}": ({}, {"Servers": value}, "CFG-002")
       for kind, value in (("list", ["pacs"]), ("string", "pacs"), ("number", 3))},
    # addresses that reach this host
    **{f"host-{h}": ({"Url": f"https://{h}/dicom-web"}, {}, "SEC-009")
       for h in ("2130706433", "0x7f000001", "127.1", "017700000001", "0177.0.0.1", "0", "[::ffff:127.0.0.1]")},
    "metadata-url-private": ({"ProviderType": "azure-managed-identity", "Resource": "https://dicom.example.org",
                              "MetadataUrl": "https://10.0.0.1/token"}, {}, "SEC-009"),
    "allowed-private-host": ({"Url": "https://127.1/dicom-web"}, {"AllowPrivateHosts": ["127.0.0.1"]}, None),
    # secrets anywhere
    "userinfo-in-url": ({"Url": f"https://user:{SECRET}@pacs.example.org/dicom-web"}, {}, "SEC-008"),
    "password-with-a-slash-in-url": ({"Url": f"https://orthanc:1234/{SECRET}@pacs.example.org/dicom-web"}, {},
                                     "SEC-008"),
    "secret-in-query": ({"TokenEndpoint": f"https://idp.example.org/token?client_secret={SECRET}"}, {}, "SEC-008"),
    "cookie-header": ({"HttpHeaders": {"Cookie": f"s={SECRET}"}}, {}, "SEC-006"),
    "api-key-header": ({"HttpHeaders": {"X-Api-Key": SECRET}}, {}, "SEC-006"),
    "password-in-redis-url": ({}, {"Cache": {"Backend": "redis", "EncryptionKey": ENC,
                                             "RedisUrl": f"redis://:{SECRET}@redis.example.org:6379/0"}}, "SEC-008"),
    # secrets that are not strings (a YAML slip): refused where they stand, never moved
    "client-secret-a-list": ({"ClientSecret": [SECRET]}, {}, "CFG-002"),
    "redis-password-a-mapping": ({}, {"Cache": {"Backend": "redis", "EncryptionKey": ENC,
                                                "RedisUrl": "rediss://redis.example.org:6380/0",
                                                "RedisPassword": {"value": SECRET}}}, "CFG-002"),
    "encryption-key-yes": ({}, {"Cache": {"Backend": "redis", "EncryptionKey": True,
                                          "RedisUrl": "rediss://redis.example.org:6380/0"}}, "CFG-002"),
    # AllowPrivateHosts holds single hosts: a range or a pattern would match nothing
    "allow-private-range": ({"Url": "https://10.0.0.5/dicom-web"}, {"AllowPrivateHosts": ["10.0.0.0/8"]}, "CFG-002"),
    "allow-private-wildcard": ({"Url": "https://10.0.0.5/dicom-web"}, {"AllowPrivateHosts": ["*"]}, "CFG-002"),
    "metadata-instance-data": ({"Url": "https://instance-data/dicom-web"}, {}, "SEC-009"),
    # the older plugin's managed identity (Scope, no Resource), and its key names in errors
    "managed-identity-scope-only": ({"ProviderType": "azuremanagedidentity", "ClientId": None, "ClientSecret": None,
                                     "TokenEndpoint": None,
                                     "Scope": "https://dicom.healthcareapis.azure.com/.default"}, {}, "CFG-007"),
    "dicomwebroot-not-https": ({"Url": None, "DicomWebRoot": "ftp://pacs.example.org/dicom-web"}, {}, "CFG-002"),
    # the outbound proxy
    "proxy-credentials-in-url": ({}, {"Proxy": {"Url": f"http://orthanc:{SECRET}@proxy.example.org:3128"}},
                                 "SEC-008"),
    "proxy-without-port": ({}, {"Proxy": {"Url": "http://proxy.example.org"}}, "CFG-002"),
    "server-proxy-not-an-object": ({"Proxy": "http://proxy.example.org:3128"}, {}, "CFG-002"),
    # the plugin's requests through a proxy, Orthanc's DICOMweb traffic direct
    "proxy-for-tokens-only": ({}, {"Proxy": {"Url": "http://proxy.example.org:3128"}}, "CFG-010"),
    "server-proxy-direct": ({"Proxy": False}, {}, None),
    # the older plugin's values
    "provider-azuremanagedidentity": ({"ProviderType": "azuremanagedidentity", "Resource": "https://x.example.org"},
                                      {}, None),
    "provider-keycloak": ({"ProviderType": "keycloak"}, {}, None),
    "provider-aws": ({"ProviderType": "aws"}, {}, "CFG-004"),
    "jwt-algorithms-string": ({"JWTAlgorithms": "RS256", "JwksUri": "https://idp.example.org/jwks"}, {}, None),
    "log-level-upper-case": ({}, {"LogLevel": "INFO"}, None),
    "redis-block": ({}, {"Redis": {"Host": "redis.example.org", "Port": 6379, "Password": SECRET}}, "CFG-004"),
}


def host(case: str) -> str:
    """An inventory host name for the case (Ansible reads [...] in names as ranges)."""
    return f"case{list(CASES).index(case)}.example.org"


def section(case: str) -> dict[str, Any]:
    server, top, _ = CASES[case]
    srv = {k: v for k, v in {**BASE, **server}.items() if v is not None}
    return {"Servers": {"pacs": srv}, "RateLimit": {"Requests": 10, "WindowSeconds": 60}, **top}  # top may replace Servers


def plugin_codes(value: Any) -> list[str]:
    return sorted({str(c) for c in value if str(c).startswith(("CFG-", "SEC-"))})


@pytest.fixture(scope="module")
def lint_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inv = tmp_path_factory.mktemp("judge") / "hosts.yml"
    hosts = {host(case): {"orthanc_users": {"admin": "a-long-unique-password-1"},
                                     "orthanc_dicomweb_oauth": section(case)} for case in CASES}
    inv.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "orthanc-config-lint.py"), "-i", str(inv), "--json"],
                         capture_output=True, text=True)
    assert SECRET not in out.stdout + out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    report["rc"] = out.returncode
    return report


@pytest.fixture(scope="module")
def orthanc_verdicts() -> dict[str, dict[str, Any]]:
    """Each case's section in its own real Orthanc; its status answer and log."""
    def run(case: str) -> dict[str, Any]:
        src = OrthancServer.source(Path(STATE_DIR), f"judge-{host(case)}", section(case), credentials=CREDENTIALS)
        try:
            src.start()
            status = src.get("/dicomweb-oauth/status")
        finally:
            src.stop()
        return {"status": status, "log": src.log()}

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(run, CASES)))


@pytest.mark.parametrize("case", list(CASES))
def test_lint_and_plugin_give_the_same_verdict(case: str, lint_report: dict[str, Any],
                                               orthanc_verdicts: dict[str, dict[str, Any]]) -> None:
    expected = CASES[case][2]
    name = host(case)
    lint = plugin_codes(f["rule"] for f in lint_report["findings"] if f["host"] == name)
    status = orthanc_verdicts[case]["status"]
    plugin = plugin_codes(e["code"] for e in status["configuration_errors"])
    assert lint == plugin, (lint, plugin)
    if expected is None:
        assert lint == [] and status["status"] != "error"
        notes = [w.split(": ", 1)[1] for w in lint_report["warnings"] if w.startswith(name + ": ")]
        assert set(notes) <= set(status["warnings"])  # the same migration notes on both sides
    else:
        assert expected in lint and status["status"] == "error"
        assert f"config.refused code={expected}" in orthanc_verdicts[case]["log"]
    assert SECRET not in json.dumps(status) and SECRET not in orthanc_verdicts[case]["log"]


def test_the_lint_fails_the_inventory(lint_report: dict[str, Any]) -> None:
    assert lint_report["rc"] == 1 and lint_report["hosts"] == len(CASES)
