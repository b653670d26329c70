"""The orthanc.json compiler and its hardening rules (pure functions, plus property tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.collection import ROOT, plugin_utils

pu = plugin_utils()
compiler = sys.modules["dicomweb_oauth_plugin_utils.compiler"]
rules = sys.modules["dicomweb_oauth_plugin_utils.rules"]
SCHEMA = json.loads((ROOT / "plugin/src/orthanc_dicomweb_oauth/schema/dicomweb-oauth.schema.json").read_text())

GOOD = {
    "orthanc_users": {"admin": "a-long-unique-password-1"},
    "orthanc_dicomweb_oauth": {
        "Servers": {"pacs": {"Url": "https://pacs.example.org/dicom-web", "TokenEndpoint": "https://idp.example.org/token",
                             "ClientId": "orthanc", "ClientSecret": "client-secret-value-42"}},
        "Cache": {"Backend": "redis", "RedisUrl": "rediss://redis.example.org:6380/0",
                  "EncryptionKey": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=", "RedisPassword": "redis-pass-value-7"},
        "RateLimit": {"Requests": 10, "WindowSeconds": 60},
    },
}


def compile_(hv, host="h1"):
    return compiler.compile_host(host, json.loads(json.dumps(hv)))


def rule_ids(result):
    return sorted({f.rule for f in result.findings})


def test_good_host_compiles_clean_and_moves_secrets():
    r = compile_(GOOD)
    assert r.ok, [f.line() for f in r.findings]
    for secret in ("a-long-unique-password-1", "client-secret-value-42", "redis-pass-value-7",
                   "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="):
        assert secret not in r.rendered
        assert secret in r.environment.values()
    oauth = r.config["DicomWebOAuth"]
    assert oauth["Servers"]["pacs"]["ClientSecret"] == "${DWO_PACS_CLIENTSECRET}"
    assert oauth["Cache"]["EncryptionKey"] == "${DWO_CACHE_ENCRYPTIONKEY}"
    assert r.config["RegisteredUsers"] == {"admin": "${ORTHANC_USER_ADMIN_PASSWORD}"}
    assert r.config["PythonScript"].endswith("dicomweb_oauth_plugin.py")
    assert r.config["Plugins"][0].endswith("libOrthancDicomWeb.so") and r.config["Plugins"][1].endswith(
        "libOrthancPython.so")
    jsonschema.validate(oauth, SCHEMA)
    env_file = compiler.render_environment(r.environment)
    assert 'DWO_PACS_CLIENTSECRET="client-secret-value-42"' in env_file
    assert "client-secret-value-42" not in json.dumps(r.summary())


def test_orthancs_https_client_gets_a_ca_file():
    # Without HttpsCACertificates Orthanc 1.10 looks in its configuration directory and every
    # https DICOMweb request fails (libcurl error 77); the cluster scenario proves the default.
    assert compile_(GOOD).config["HttpsCACertificates"] == "/etc/ssl/certs/ca-certificates.crt"
    r = compile_({**GOOD, "orthanc_https_ca_certificates": "/etc/pki/internal.pem"})
    assert r.ok and r.config["HttpsCACertificates"] == "/etc/pki/internal.pem"
    r = compile_({**GOOD, "orthanc_extra_config": {"HttpsCACertificates": "/tmp/x.pem"}})
    assert "INPUT" in rule_ids(r)


def test_output_is_deterministic():
    a = compile_(GOOD).rendered
    reordered = dict(reversed(list(json.loads(json.dumps(GOOD)).items())))
    assert compile_(reordered).rendered == a == compile_(GOOD).rendered
    assert a.endswith("\n") and json.loads(a) == compile_(GOOD).config
    assert list(json.loads(a)) == sorted(json.loads(a))


@pytest.mark.parametrize("change,rule", [
    ({"orthanc_authentication_enabled": False}, "ORT-001"),
    ({"orthanc_users": {"admin": "orthanc"}}, "ORT-002"),
    ({"orthanc_users": {"admin": "short-pw"}}, "ORT-002"),
    ({"orthanc_users": {}}, "ORT-002"),
    ({"orthanc_remote_access_allowed": True, "orthanc_authentication_enabled": False}, "ORT-003"),
    ({"orthanc_remote_access_allowed": True}, "ORT-004"),
    ({"orthanc_dicomweb_servers_in_database": True}, "ORT-005"),
    ({"server": {"VerifySSL": False}}, "ORT-006"),
    ({"server": {"TokenEndpoint": "http://idp.example.org/token"}}, "ORT-007"),
    ({"server": {"Url": "https://10.1.2.3/dicom-web"}}, "ORT-007"),
    ({"server": {"TokenEndpoint": "https://169.254.169.254/token"}}, "ORT-007"),
    ({"server": {"Issuer": "https://127.0.0.1:8443/realms/x"}}, "ORT-007"),
    ({"orthanc_extra_config": {"Leaked": "client-secret-value-42"}}, "ORT-008"),
    ({"no_rate_limit": True}, "ORT-009"),
    ({"server": {"Timout": 3}}, "SCHEMA"),
    ({"orthanc_http_port": "8042"}, "INPUT"),
    ({"orthanc_extra_config": {"AuthenticationEnabled": False}}, "INPUT"),
])
def test_each_rule_fires(change, rule):
    hv = json.loads(json.dumps(GOOD))
    if "server" in change:
        hv["orthanc_dicomweb_oauth"]["Servers"]["pacs"].update(change["server"])
    elif "no_rate_limit" in change:
        del hv["orthanc_dicomweb_oauth"]["RateLimit"]
    else:
        hv.update(change)
    r = compile_(hv)
    assert rule in rule_ids(r), [f.line() for f in r.findings]
    f = next(f for f in r.findings if f.rule == rule)
    assert f.host == "h1" and f.path and f.fix


def test_schema_comes_from_the_plugin_file():
    assert compiler.load_schema() == SCHEMA  # the very file the plugin ships, not a copy


def test_waivers_need_known_id_and_reason_and_are_reported():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_remote_access_allowed"] = True
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-004", "reason": "TLS terminates on the host's nginx"}]
    r = compile_(hv)
    assert r.ok and r.waived == [{"rule": "ORT-004", "path": "SslEnabled", "host": "h1",
                                  "reason": "TLS terminates on the host's nginx"}]
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-004"}, {"id": "ORT-123", "reason": "no such rule at all"}]
    r = compile_(hv)
    assert rule_ids(r) == ["INPUT", "ORT-004"]


def test_leaked_secret_is_never_waivable():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_extra_config"] = {"Leaked": "client-secret-value-42"}
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-008", "reason": "trying to waive a leaked secret"}]
    assert "ORT-008" in rule_ids(compile_(hv))


def test_env_references_kept_and_templates_moved():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_users"] = {"admin": "${ADMIN_PW}", "ops": "{{ lookup('x', 'y') }}"}
    r = compile_(hv)
    assert r.ok and r.config["RegisteredUsers"] == {"admin": "${ADMIN_PW}", "ops": "${ORTHANC_USER_OPS_PASSWORD}"}
    assert "ADMIN_PW" not in r.environment


def test_hardening_doc_matches_registry():
    assert (ROOT / "docs" / "hardening.md").read_text() == rules.markdown()
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "orthanc-config-lint.py"), "--rules-markdown"],
                         capture_output=True, text=True, check=True).stdout
    assert out == rules.markdown()


# -- property tests --------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
urls = st.one_of(
    st.sampled_from(["https://pacs.example.org/dicom-web", "https://idp.example.org/token", "http://pacs.example.org/x",
                     "https://10.0.0.1/x", "https://127.0.0.1/x", "https://169.254.169.254/t", "ftp://x", "not a url"]),
    text)
passwords = st.one_of(st.sampled_from(["orthanc", "", "short", "a-long-unique-password-1"]), text, st.none())
server = st.fixed_dictionaries(
    {"Url": urls},
    optional={"TokenEndpoint": urls, "Issuer": urls, "ClientId": text, "ClientSecret": text, "Scope": text,
              "VerifySSL": st.booleans(), "AllowInsecureSSL": st.booleans(), "Timeout": st.integers(-5, 500),
              "TokenRefreshBufferSeconds": st.one_of(st.integers(-10, 4000), text),
              "ProviderType": st.sampled_from(["auto", "generic", "azure", "google", "bogus"]),
              "Unknown": text})
hostvars = st.fixed_dictionaries(
    {},
    optional={
        "orthanc_authentication_enabled": st.one_of(st.booleans(), text),
        "orthanc_remote_access_allowed": st.booleans(),
        "orthanc_ssl_enabled": st.booleans(),
        "orthanc_dicomweb_servers_in_database": st.booleans(),
        "orthanc_http_port": st.one_of(st.integers(-1, 70000), text),
        "orthanc_users": st.one_of(st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), passwords,
                                                   min_size=1, max_size=3), text),
        "orthanc_dicomweb_oauth": st.one_of(
            st.fixed_dictionaries({"Servers": st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
                                                              server, max_size=2)},
                                  optional={"RateLimit": st.fixed_dictionaries({"Requests": st.integers(0, 50)}),
                                            "Cache": st.fixed_dictionaries({"Backend": st.sampled_from(["memory", "redis"])},
                                                                           optional={"EncryptionKey": text})}),
            text, st.none()),
        "orthanc_extra_config": st.one_of(st.dictionaries(st.sampled_from(["HttpTimeout", "Name", "Leak", "Plugins"]),
                                                          text, max_size=2), text),
        "orthanc_hardening_waivers": st.lists(st.fixed_dictionaries({"id": st.sampled_from(
            ["ORT-001", "ORT-004", "ORT-007", "ORT-008", "X"]), "reason": st.one_of(
                st.just("a written reason for this host"), text)}), max_size=2),
    })


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostvars)
def test_random_inventories_compile_clean_or_are_refused(hv):
    r = compiler.compile_host("h", hv)  # never raises
    secrets = {v for v in r.environment.values() if len(v) >= 8}
    if not r.findings:
        cfg = json.loads(r.rendered)
        assert cfg == r.config
        if "DicomWebOAuth" in cfg:
            jsonschema.validate(cfg["DicomWebOAuth"], SCHEMA)
        waived = {w["rule"] for w in r.waived}
        assert cfg["AuthenticationEnabled"] is True or "ORT-001" in waived
        for rule in rules.RULES:
            if rule.id not in {w["rule"] for w in r.waived}:
                assert not list(rule.check(cfg, {"user_passwords": {}, "secret_values": {}, "rendered": r.rendered,
                                                 "allow_private_hosts": []}))
        for s in secrets:
            assert s not in r.rendered
    else:
        assert all(f.rule in rules.RULES_BY_ID or f.rule in ("SCHEMA", "INPUT") for f in r.findings)
    # Every secret the compiler moved is referenced by name, never inlined.
    for name in r.environment:
        assert "${" + name + "}" in r.rendered


def test_inventory_lint_bench_size_is_reasonable(tmp_path):
    """Smoke for bench/compile_inventory.py's generator: 50 hosts compile clean."""
    from bench.compile_inventory import write_inventory

    inv = write_inventory(tmp_path, 50)
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "orthanc-config-lint.py"), "-i", str(inv)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "50 hosts compiled, 0 findings" in out.stdout


def test_examples_and_broken_inventory(tmp_path):
    lint = [sys.executable, str(ROOT / "bin" / "orthanc-config-lint.py")]
    for name in ("azure", "google", "keycloak"):
        out = subprocess.run([*lint, "-i", str(ROOT / "inventories/examples" / name / "hosts.yml"),
                              "--output-dir", str(tmp_path / name)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout
        for f in (tmp_path / name).iterdir():
            assert "vault_kv" not in f.read_text()  # templated secrets moved out too
    out = subprocess.run([*lint, "-i", str(ROOT / "tests/fixtures/broken-inventory/hosts.yml"), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    found = {(f["host"], f["rule"]) for f in report["findings"]}
    for rid in [f"ORT-00{i}" for i in range(1, 9)] + ["SCHEMA"]:
        assert ("bad-1.example.org", rid) in found, rid
    assert ("bad-1.example.org", "ORT-009") in found and ("bad-2.example.org", "ORT-009") not in found
    assert ("bad-2.example.org", "INPUT") in found
    assert report["waived"][0]["rule"] == "ORT-009" and "reverse proxy" in report["waived"][0]["reason"]
    assert "literal-secret-in-inventory" not in out.stdout
    assert Path(ROOT / "tests/fixtures/broken-inventory/group_vars/orthanc/main.yml").exists()


def test_property_strategy_reaches_clean_compiles():
    """The property test above is only meaningful if random inventories can also be clean."""
    from hypothesis import find

    clean = find(hostvars, lambda hv: compiler.compile_host("h", hv).ok and "orthanc_users" in hv,
                 settings=settings(max_examples=5000, deadline=None, database=None))
    assert compiler.compile_host("h", clean).ok
