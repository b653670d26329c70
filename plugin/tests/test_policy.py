"""The loader as the one judge: host spellings, secrets in URLs and headers, the older plugin's
values, every error at once, and the options the config compiler uses."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orthanc_dicomweb_oauth.loader.addresses import canonical_host, classify_host, host_key, parse_address
from orthanc_dicomweb_oauth.loader.config import ConfigRefused, check_config, load_config

SRC = Path(__file__).resolve().parents[1] / "src"
OK = {"Url": "https://dicom.example.org/dicom-web", "TokenEndpoint": "https://idp.example.org/token",
      "ClientId": "orthanc", "ClientSecret": "s3cr3t-value-123"}
LOOPBACK_SPELLINGS = ["2130706433", "0x7f000001", "127.1", "017700000001", "0177.0.0.1", "127.0.0.1.",
                      "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]", "localhost", "LOCALHOST.", "a.localhost"]


def codes(server=None, **top):
    _cfg, errors = check_config({"Servers": {"remote": {**OK, **(server or {})}}, **top}, environ={})
    return sorted(e.code for e in errors), errors


UNSPECIFIED = "0.0.0.0"  # noqa: S104 - an address that reaches this host, to be refused


@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "0", UNSPECIFIED])
def test_every_spelling_of_this_host_is_refused(host):
    got, errors = codes({"Url": f"https://{host}/dicom-web"})
    assert got == ["SEC-009"], errors
    assert host_key(host.strip("[]")) in ("127.0.0.1", "::1", UNSPECIFIED, canonical_host(host))


@pytest.mark.parametrize("host,kind", [
    ("10.1", "a private range"), ("0xa000001", "a private range"), ("192.168.0.1", "a private range"),
    ("169.254.169.254", "a cloud metadata endpoint"), ("0251.0376.0251.0376", "a cloud metadata endpoint"),
    ("metadata.google.internal.", "a cloud metadata endpoint"), ("[fd00:ec2::254]", "a cloud metadata endpoint"),
    ("169.254.1.1", "link-local"), ("[fe80::1%25eth0]", "link-local"), ("[fd12::1]", "unique-local"),
    ("[64:ff9b::a00:1]", "a private range"), ("100.64.0.1", "not globally routable"),
])
def test_private_link_local_and_metadata_ranges(host, kind):
    assert classify_host(host) == kind
    assert codes({"TokenEndpoint": f"https://{host}/token"})[0] == ["SEC-009"]


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "017700000001", "0177.0.0.1", "0",
                                  "0xa.1", "10.0.1", "1.2.3.4", "0300.0250.0.1", "4294967295"])
def test_ipv4_spellings_read_as_the_resolver_reads_them(host):
    """glibc's inet_aton (behind getaddrinfo, requests and curl) is the reference."""
    assert parse_address(host) == ipaddress.IPv4Address(socket.inet_aton(host))


def test_public_addresses_and_names_pass():
    assert classify_host("8.8.8.8") is None and classify_host("pacs.example.org") is None
    assert codes({"Url": "https://8.8.8.8/dicom-web"})[0] == []


def test_allow_private_hosts_matches_any_spelling():
    assert codes({"Url": "https://127.1/dicom-web"}, AllowPrivateHosts=["127.0.0.1"])[0] == []
    assert codes({"Url": "http://2130706433/dicom-web"}, AllowPrivateHosts=["127.0.0.1"])[0] == []
    assert codes({"Url": "https://10.0.0.2/dicom-web"}, AllowPrivateHosts=["10.0.0.1"])[0] == ["SEC-009"]


def test_metadata_url_is_checked_too():
    mi = {"ProviderType": "azure-managed-identity", "Resource": "https://dicom.healthcareapis.azure.com"}
    assert codes({**mi, "MetadataUrl": "http://169.254.169.254/metadata/identity/oauth2/token"})[0] == []
    assert codes({**mi, "MetadataUrl": "http://10.0.0.1/metadata"})[0] == ["SEC-003", "SEC-009"]
    assert codes({**mi, "MetadataUrl": "http://0x7f000001/metadata"})[0] == ["SEC-009"]


@pytest.mark.parametrize("server,top,code", [
    ({"Url": "https://user:pa55word-in-url@dicom.example.org/dicom-web"}, {}, "SEC-008"),
    ({"TokenEndpoint": "https://idp.example.org/token?client_secret=pa55word-in-url"}, {}, "SEC-008"),
    ({"Issuer": "https://idp.example.org/realms/x?access_token=pa55word-in-url"}, {}, "SEC-008"),
    ({"HttpHeaders": {"Authorization": "Basic pa55word-in-url"}}, {}, "SEC-006"),
    ({"HttpHeaders": {"Cookie": "session=pa55word-in-url"}}, {}, "SEC-006"),
    ({"HttpHeaders": {"X-Api-Key": "pa55word-in-url"}}, {}, "SEC-006"),
    ({"HttpHeaders": {"Ocp-Apim-Subscription-Key": "pa55word-in-url"}}, {}, "SEC-006"),
    ({}, {"Cache": {"Backend": "redis", "RedisUrl": "rediss://:pa55word-in-url@redis.example.org:6380/0",
                    "EncryptionKey": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="}}, "SEC-008"),
    ({"Url": "http://user:pa55word-in-url@dicom.example.org/x"}, {}, "SEC-003"),
])
def test_secrets_in_urls_and_headers_refused_without_repeating_them(server, top, code):
    got, errors = codes(server, **top)
    assert code in got, errors
    for e in errors:
        assert "pa55word-in-url" not in e.message and "pa55word-in-url" not in str(e.to_dict())


def test_harmless_headers_and_queries_pass():
    assert codes({"HttpHeaders": {"X-Request-Source": "orthanc"},
                  "Url": "https://dicom.example.org/v2?api-version=2023-08-01"})[0] == []


@pytest.mark.parametrize("server,top,expect", [
    ({"ProviderType": "azuremanagedidentity", "Resource": "https://dicom.healthcareapis.azure.com"}, {},
     "'azure-managed-identity' instead"),
    ({"ProviderType": "keycloak"}, {}, "'generic' instead"),
    ({"ProviderType": "Azure", "TenantId": "t", "Scope": "https://x/.default"}, {}, "'azure' (lower case)"),
    ({"JWTAlgorithms": "RS256", "JwksUri": "https://idp.example.org/jwks"}, {}, 'write a list, ["RS256"]'),
    ({"DicomWebRoot": "https://dicom.example.org/dicom-web", "Url": None}, {}, "write Url instead"),
    ({"RefreshBufferSeconds": 120}, {}, "write TokenRefreshBufferSeconds instead"),
    ({"VerifySSL": "/etc/ssl/certs/ca-certificates.crt"}, {}, "write CaBundle"),
    ({}, {"LogLevel": "INFO"}, "write 'info' (lower case) instead"),
    ({}, {"LogLevel": "WARN"}, "write 'warning'"),
    ({}, {"RateLimitRequests": 5, "RateLimitWindowSeconds": 30}, "write RateLimit.Requests instead"),
    ({}, {"CacheType": "memory"}, "write Cache.Backend instead"),
    ({}, {"EnableMetrics": True, "LogFile": "/var/log/x.log"}, "EnableMetrics is ignored"),
    ({}, {"ResilienceConfig": {"RetryMaxAttempts": 2}}, "write Resilience in each server"),
])
def test_older_plugin_values_load_with_what_to_write(server, top, expect):
    srv = {k: v for k, v in {**OK, **server}.items() if v is not None}
    c = load_config({"Servers": {"remote": srv}, **top}, environ={})
    assert any(expect in w for w in c.warnings), c.warnings


@pytest.mark.parametrize("server,top,expect", [
    ({"ProviderType": "aws"}, {}, "ProviderType generic"),
    ({"Region": "us-west-2"}, {}, "remove it"),
    ({"ResilienceConfig": {"Bogus": 1}}, {}, "the Resilience keys are"),
    ({}, {"Redis": {"Host": "redis.example.org", "Port": 6380, "Password": "pa55word-in-url", "SSL": True}},
     'RedisUrl: "rediss://redis.example.org:6380/0"'),
])
def test_older_plugin_values_refused_with_the_replacement(server, top, expect):
    got, errors = codes(server, **top)
    assert "CFG-004" in got and any(expect in e.detail for e in errors), errors
    assert not any("pa55word-in-url" in e.message for e in errors)


def test_every_schema_error_and_every_policy_error_at_once():
    section = {"Servers": {"a": {**OK, "Timout": 3, "LogLevel": 1},
                           "b": {**OK, "Url": "https://127.1/x", "VerifySSL": False, "HttpHeaders": {"Cookie": "c"}},
                           "c": {"Url": "https://dicom.example.org/x", "ValidateJWT": True}},
               "LogLevel": "verbose"}
    with pytest.raises(ConfigRefused) as e:
        load_config(section, environ={})
    got = sorted((x.code, x.key) for x in e.value.errors)
    assert ("CFG-002", "DicomWebOAuth.LogLevel") in got and ("CFG-002", "DicomWebOAuth.Servers.a") in got
    assert {c for c, _ in got} >= {"CFG-002", "SEC-001", "SEC-006", "SEC-009", "CFG-007"}
    assert sum(1 for c, k in got if c == "CFG-007" and k.startswith("DicomWebOAuth.Servers.c")) == 2
    assert "more" in e.value.detail


def test_compile_time_options_defer_variables_and_host_files():
    section = {"Servers": {"r": {**OK, "ClientSecret": "${FROM_SERVICE_ENV}", "CaBundle": "/nonexistent/ca.pem"}},
               "Cache": {"Backend": "redis", "RedisUrl": "redis://redis.example.org:6379/0",
                         "EncryptionKey": "${ALSO_FROM_SERVICE_ENV}"}}
    assert sorted(e.code for e in check_config(section, {})[1]) == ["CFG-003", "CFG-003"]
    env = {"FROM_SERVICE_ENV": "s3cr3t", "ALSO_FROM_SERVICE_ENV": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="}
    assert [e.code for e in check_config(section, env)[1]] == ["CFG-009"]
    cfg, errors = check_config(section, {}, defer=True, host_files=False)
    assert errors == [] and cfg is not None


def test_the_loader_folder_imports_without_the_runtime_dependencies():
    """The collection's compiler runs the loader on a controller that has none of them: every
    module of orthanc_dicomweb_oauth/loader/ imports with them blocked, and judges."""
    modules = sorted(p.stem for p in (SRC / "orthanc_dicomweb_oauth" / "loader").glob("*.py"))
    assert {"config", "policy", "orthanc_settings", "proxy"} <= set(modules)
    code = (
        "import importlib, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('requests', 'jwt', 'cryptography', 'redis', 'prometheus_client') \\\n"
        "                or name.startswith('orthanc_dicomweb_oauth.runtime'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(SRC)!r})\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('orthanc_dicomweb_oauth.loader.' + m)\n"
        "from orthanc_dicomweb_oauth.loader.config import check_config\n"
        "cfg, errs = check_config({'Servers': {'r': {'Url': 'https://127.1/x'}}}, {})\n"
        "print(sorted(e.code for e in errs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['CFG-007', 'SEC-009']"


def test_a_password_with_a_slash_in_a_url_is_refused_and_never_shown():
    """user:1234/rest@host reads as host "user", port 1234 and a path holding the password."""
    got, errors = codes({"Url": "https://orthanc:1234/abcd-secret-77@pacs.example.org/dicom-web"})
    assert got == ["SEC-008"], errors
    assert all("abcd-secret-77" not in e.message for e in errors)
