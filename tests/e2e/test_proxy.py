"""A hospital network: the source Orthanc sits in a network namespace of its own whose only way
out is a real squid with a password. The identity provider and the protected target are "in the
cloud": names (idp.cloud.test, target.cloud.test) that only squid resolves, behind a real nginx
TLS front on this machine's loopback, which the namespace cannot reach.

The source's orthanc.json and environment come from the collection's compiler, from one
inventory variable (orthanc_outbound_proxy), exactly as the config role writes them."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from orthanc_dicomweb_oauth.loader.errors import OAuthPluginError
from orthanc_dicomweb_oauth.loader.proxy import ProxyConfig
from orthanc_dicomweb_oauth.loader.redaction import Secret
from orthanc_dicomweb_oauth.runtime.http import HttpClient
from plugins.plugin_utils.compiler import compile_host
from testenv import IdentityProvider
from testenv.netns import Namespace
from testenv.nginx import TlsFront
from testenv.orthanc import PLUGIN_SCRIPT, OrthancServer
from testenv.process import free_port
from testenv.squid import Squid
from testenv.tls import self_signed
from tests.conftest import STATE_DIR, report
from tests.e2e.conftest import CREDENTIALS
from tests.e2e.test_dicomweb_through_oauth import load_study
from tests.helpers.collection import BIN, ansible_env, collections_path
from tests.helpers.idp_resources import DICOM_AUDIENCE
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.real

IDP_NAME, TARGET_NAME, BLOCKED_NAME = "idp.cloud.test", "target.cloud.test", "blocked.cloud.test"
PROXY_USER = "orthanc"
# Characters that need URL-encoding in Orthanc's HttpProxy and escaping in JSON: test-only value.
PROXY_PASSWORD = 'pr0xy@pass:w/rd%25"q'
DIR = STATE_DIR / "proxy"


@dataclass
class Hospital:
    ns: Namespace
    squid: Squid
    front: TlsFront
    idp: IdentityProvider
    target: OrthancServer
    source: OrthancServer
    ca: str
    rendered: str
    environment: dict[str, str]
    hostvars: dict[str, Any]


def _hostvars(front: TlsFront, squid: Squid, ca: str, idp: IdentityProvider, port: int) -> dict[str, Any]:
    client = idp.client("orthanc")
    return {
        "orthanc_http_port": port, "orthanc_dicom_enabled": False,
        "orthanc_secrets_directory": str(DIR / "secrets"),
        "orthanc_users": {CREDENTIALS[0]: CREDENTIALS[1]},
        "orthanc_oauth_plugin_dir": str(PLUGIN_SCRIPT.parent),
        "orthanc_https_ca_certificates": ca,
        "orthanc_outbound_proxy": {"url": squid.url, "username": PROXY_USER, "password": PROXY_PASSWORD,
                                   "no_proxy": ["pacs.hospital.test"]},
        "orthanc_dicomweb_oauth": {
            "RateLimit": {"Requests": 200, "WindowSeconds": 60},
            "Servers": {"remote": {
                "Url": f"{front.url(TARGET_NAME)}/dicom-web/",
                # discovery, token and JWKS: every request of the plugin's goes through the proxy
                "Issuer": front.url(IDP_NAME), "ValidateJWT": True, "JWTAudience": DICOM_AUDIENCE,
                "ClientId": "orthanc", "ClientSecret": client["client_secret"], "Scope": "dicom.read dicom.write",
                "CaBundle": ca,
                "Resilience": {"MaxRetries": 1, "RetryInitialDelaySeconds": 0.1, "RetryMaxDelaySeconds": 0.5,
                               "CircuitBreakerThreshold": 2, "CircuitBreakerTimeoutSeconds": 3,
                               "ProbeMaxDelaySeconds": 1},
            }},
        },
    }


def _source(ns: Namespace, hostvars: dict[str, Any]) -> tuple[OrthancServer, str, dict[str, str]]:
    """The source Orthanc, configured by the compiler from ``hostvars``."""
    result = compile_host("hospital-orthanc", hostvars)
    assert result.ok, [f.line() for f in result.findings]
    cfg = json.loads(result.rendered)
    # testenv writes the port, storage, users and plugins itself; the rest is the compiler's.
    for key in ("HttpPort", "StorageDirectory", "IndexDirectory", "RegisteredUsers", "Name", "Plugins"):
        cfg.pop(key)
    # The harness reaches the source at the namespace's address: not loopback.
    cfg["RemoteAccessAllowed"] = True
    for path, content in result.secret_files.items():  # as the config role writes them
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
        Path(path).chmod(0o640)
    src = OrthancServer(DIR, "hospital-source", cfg, PLUGIN_SCRIPT, dict(result.environment), CREDENTIALS,
                        port=hostvars["orthanc_http_port"], netns=ns)
    return src, result.rendered, dict(result.environment)


@pytest.fixture(scope="module")
def hospital() -> Iterator[Hospital]:
    ns = Namespace(DIR).create()
    started: list[Any] = []
    try:
        cert, key = self_signed(DIR / "tls", "cloud", (IDP_NAME, TARGET_NAME, BLOCKED_NAME))
        front_port, idp_port = free_port(), free_port()
        squid = Squid(DIR, listen=ns.outer_addr, users={PROXY_USER: PROXY_PASSWORD},
                      hosts={n: "127.0.0.1" for n in (IDP_NAME, TARGET_NAME, BLOCKED_NAME)}, deny=[BLOCKED_NAME])
        idp = IdentityProvider(DIR, port=idp_port, public_issuer=f"https://{IDP_NAME}:{front_port}")
        target = OrthancServer.target(DIR, "cloud-target", idp.local_jwks_uri, DICOM_AUDIENCE, idp.issuer)
        front = TlsFront(DIR, {IDP_NAME: idp_port, TARGET_NAME: target.port, BLOCKED_NAME: idp_port}, cert, key,
                         port=front_port)
        squid.access_log.unlink(missing_ok=True)  # the tests count this run's tunnels
        for component in (squid, idp, target, front):
            component.stop()  # a leftover from an interrupted run
            component.start()
            started.append(component)
        hostvars = _hostvars(front, squid, cert, idp, free_port())
        source, rendered, env = _source(ns, hostvars)
        source.stop()
        source.process.log_file.unlink(missing_ok=True)  # the password check reads this run's log
        source.start()
        started.append(source)
        yield Hospital(ns, squid, front, idp, target, source, cert, rendered, env, hostvars)
    finally:
        for component in reversed(started):
            component.stop()
        ns.destroy()


def _tunnels(squid: Squid, name: str) -> list[str]:
    return [line for line in squid.access_lines() if f"CONNECT {name}:" in line and "TCP_TUNNEL/200" in line]


def test_namespace_has_no_direct_route(hospital: Hospital) -> None:
    """Inside the hospital namespace, the cloud's TLS front is not on loopback, and its names
    do not resolve: the only way out is the proxy."""
    probe = ("import socket,sys\n"
             f"try:\n socket.create_connection(('127.0.0.1', {hospital.front.port}), 2)\nexcept OSError: pass\n"
             "else: sys.exit('reached the front directly')\n"
             f"try:\n socket.getaddrinfo('{IDP_NAME}', 443)\nexcept OSError: pass\n"
             "else: sys.exit('resolved the provider directly')\n")
    out = subprocess.run(hospital.ns.argv(["/usr/bin/python3", "-c", probe]), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    with pytest.raises(OSError):
        socket.getaddrinfo(TARGET_NAME, 443)  # nor from this machine: only squid knows the names


def test_dicomweb_and_tokens_through_the_proxy(hospital: Hospital) -> None:
    src, target = hospital.source, hospital.target
    wait_for(lambda: src.get("/dicomweb-oauth/status")["servers"]["remote"]["published"], 30,
             what="the server defined with a token obtained through the proxy")
    before = len(target.access_entries())
    s = load_study(src, n=2)

    r = src.post("/dicom-web/servers/remote/stow", {"Resources": [s["study_id"]]})
    assert int(r["InstancesCount"]) == 2
    found = src.post("/dicom-web/servers/remote/qido",
                     {"Uri": "/studies", "Arguments": {"StudyInstanceUID": s["study_uid"]}})
    assert len(found) == 1
    base = f"/studies/{s['study_uid']}/series/{s['series_uid']}/instances/{s['sop_uid']}"
    status, _, body = src.request("POST", "/dicom-web/servers/remote/get", {"Uri": base})
    assert status == 200 and b"DICM" in body
    assert src.request("DELETE", f"/studies/{s['study_id']}")[0] == 200
    src.post("/dicom-web/servers/remote/retrieve", {"Resources": [{"Study": s["study_uid"]}]})
    wait_for(lambda: s["study_id"] in src.get("/studies")
             and len(src.get(f"/studies/{s['study_id']}/instances")) == 2, 20,
             what="the study retrieved through the proxy")

    seen = target.access_entries()[before:]
    assert seen and all(e["ok"] for e in seen), seen
    methods = {e["method"] for e in seen}
    assert {"POST", "GET"} <= methods
    assert hospital.idp.token_requests("orthanc") >= 1
    # squid's access log: the plugin's discovery/token/JWKS requests and Orthanc's DICOMweb
    # requests, each a CONNECT tunnel by the authenticated user. squid logs a tunnel when it
    # closes, and the plugin keeps its connection to the provider open: a restart closes it.
    hospital.squid.stop()
    hospital.squid.start()
    idp_tunnels, target_tunnels = _tunnels(hospital.squid, IDP_NAME), _tunnels(hospital.squid, TARGET_NAME)
    assert idp_tunnels and target_tunnels, hospital.squid.access_lines()[-10:]
    assert all(f" {PROXY_USER} " in line for line in idp_tunnels + target_tunnels)
    report(f"through squid with a password: CONNECT tunnels {len(idp_tunnels)} to the provider, {len(target_tunnels)} to "
           f"the DICOMweb target; STOW, QIDO, WADO and retrieve all succeeded")


def test_proxy_down_reports_its_code_and_recovers(hospital: Hospital) -> None:
    src = hospital.source
    hospital.squid.stop()
    try:
        status, _, body = src.request("POST", "/dicomweb-oauth/servers/remote/test")
        error = json.loads(body)["error"]
        assert status == 502 and error["code"] == "NET-008", (status, body[:300])
        assert src.get("/dicomweb-oauth/status")["servers"]["remote"]["last_result"] in ("NET-008", "NET-006")
    finally:
        hospital.squid.start()
    back = time.monotonic()

    def token_again() -> bool:
        return src.request("POST", "/dicomweb-oauth/servers/remote/test")[0] == 200

    wait_for(token_again, 20, interval=0.5, what="a token through the proxy once it is back")
    report(f"proxy down: NET-008 at once; token again {time.monotonic() - back:.2f} s after squid was back, "
           "without restarting Orthanc")
    found = src.post("/dicom-web/servers/remote/qido", {"Uri": "/studies"})
    assert isinstance(found, list)


def _client(hospital: Hospital, password: str) -> HttpClient:
    proxy = ProxyConfig(hospital.squid.url, PROXY_USER, Secret(password))
    return HttpClient("remote", hospital.ca, 5.0, proxy, proxy_explicit=True)


def test_wrong_proxy_password_is_net_009(hospital: Hospital) -> None:
    with pytest.raises(OAuthPluginError) as e:
        _client(hospital, "not-the-proxy-password").request("GET", f"{hospital.front.url(IDP_NAME)}/jwks")
    assert e.value.code == "NET-009" and not e.value.retryable


def test_destination_refused_by_the_proxy_is_net_010(hospital: Hospital) -> None:
    with pytest.raises(OAuthPluginError) as e:
        _client(hospital, PROXY_PASSWORD).request("GET", f"{hospital.front.url(BLOCKED_NAME)}/jwks")
    assert e.value.code == "NET-010" and "403" in e.value.detail


def test_loopback_never_goes_through_the_proxy(hospital: Hospital) -> None:
    """A proxy that does not answer at all: loopback still works, a cloud name is NET-008."""
    dead = ProxyConfig(f"http://127.0.0.1:{free_port()}", PROXY_USER, Secret(PROXY_PASSWORD))
    client = HttpClient("remote", hospital.ca, 5.0, dead, proxy_explicit=True)
    assert client.request("GET", f"{hospital.idp.base}/jwks").status_code == 200
    with pytest.raises(OAuthPluginError) as e:
        client.request("GET", f"{hospital.front.url(IDP_NAME)}/jwks")
    assert e.value.code == "NET-008" and e.value.retryable


def test_proxy_password_appears_nowhere(hospital: Hospital) -> None:
    src = hospital.source
    secrets = [PROXY_PASSWORD, quote(PROXY_PASSWORD, safe="")]
    config = src.get("/dicomweb-oauth/servers/remote")["configuration"]
    assert config["proxy"] == hospital.squid.url and config["proxy_user"] == PROXY_USER
    answers = [json.dumps(src.get("/dicomweb-oauth/status")), json.dumps(config),
               src.get("/dicomweb-oauth/metrics").decode()]
    texts = {
        "orthanc.json as rendered": hospital.rendered,
        "orthanc.json as written": Path(src.config_file).read_text(),
        "Orthanc's log": src.log(),
        "the REST answers": "\n".join(answers),
        "squid's logs": "\n".join(hospital.squid.access_lines()),
    }
    assert "${DWO_PROXY_PASSWORD}" in hospital.rendered and "HttpProxy" not in hospital.rendered
    leaks = [where for where, text in texts.items() for secret in secrets if secret in text]
    assert leaks == []


def _preflight(hospital: Hospital, tmp: Path, proxy: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """The config role's preflight, run by ansible-playbook inside the hospital namespace (the
    host the role deploys to), with -v so that a leaked argument would show."""
    hostvars = {**hospital.hostvars, "orthanc_outbound_proxy": proxy}
    playbook = tmp / "preflight.yml"
    playbook.write_text(json.dumps([{
        "hosts": "all", "gather_facts": False, "vars": hostvars,
        "tasks": [{"ansible.builtin.import_role": {"name": "dicomweb_oauth.orthanc.config",
                                                   "tasks_from": "preflight"}}]}]))
    argv = [str(BIN / "ansible-playbook"), "-v", "-i", "hospital-orthanc,", "-c", "local", str(playbook)]
    return subprocess.run(hospital.ns.argv(argv), env=ansible_env(collections_path(tmp)), capture_output=True,
                          text=True, timeout=300)


def test_the_provider_preflight_goes_through_the_proxy(hospital: Hospital, tmp_path: Path) -> None:
    proxy = hospital.hostvars["orthanc_outbound_proxy"]
    ok = _preflight(hospital, tmp_path, proxy)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    assert _tunnels(hospital.squid, IDP_NAME), "the preflight did not go through the proxy"
    refused = _preflight(hospital, tmp_path, {**proxy, "password": "not-the-proxy-password"})
    assert refused.returncode != 0
    assert "identity provider unreachable from hospital-orthanc" in refused.stdout
    assert "remote https://idp.cloud.test" in refused.stdout and "407" in refused.stdout, refused.stdout[-3000:]
    for out in (ok, refused):
        text = out.stdout + out.stderr
        for secret in (PROXY_PASSWORD, quote(PROXY_PASSWORD, safe=""), "not-the-proxy-password"):
            assert secret not in text
        assert "Proxy-Authorization" not in text or "Basic " not in text
