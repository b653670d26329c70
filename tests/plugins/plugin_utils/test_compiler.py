"""The orthanc.json compiler and its hardening rules (pure functions, plus property tests)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.collection import ROOT, plugin_utils, run_playbook

pu = plugin_utils()
compiler = sys.modules["dicomweb_oauth_plugin_utils.compiler"]
rules = sys.modules["dicomweb_oauth_plugin_utils.rules"]
lint = importlib.import_module("dicomweb_oauth_plugin_utils.lint")
SCHEMA = json.loads((ROOT / "plugin/src/orthanc_dicomweb_oauth/loader/schema/dicomweb-oauth.schema.json").read_text())

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
    for secret in ("a-long-unique-password-1", "redis-pass-value-7",
                   "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="):
        assert secret not in r.rendered
        assert secret in r.environment.values()
    # The client secret goes to a file the plugin reads again when it changes (rotation).
    assert "client-secret-value-42" not in r.rendered and "client-secret-value-42" not in r.environment.values()
    assert r.secret_files == {"/etc/orthanc/secrets/pacs.client-secret": "client-secret-value-42"}
    oauth = r.config["DicomWebOAuth"]
    assert "ClientSecret" not in oauth["Servers"]["pacs"]
    assert oauth["Servers"]["pacs"]["ClientSecretFile"] == "/etc/orthanc/secrets/pacs.client-secret"
    assert oauth["Cache"]["EncryptionKey"] == "${DWO_CACHE_ENCRYPTIONKEY}"
    assert r.config["RegisteredUsers"] == {"admin": "${ORTHANC_USER_ADMIN_PASSWORD}"}
    assert r.config["PythonScript"].endswith("dicomweb_oauth_plugin.py")
    assert r.config["Plugins"][0].endswith("libOrthancDicomWeb.so") and r.config["Plugins"][1].endswith(
        "libOrthancPython.so")
    jsonschema.validate(oauth, SCHEMA)
    env_file = compiler.render_environment(r.environment)
    assert "client-secret-value-42" not in env_file
    assert "client-secret-value-42" not in json.dumps(r.summary()) and "client-secret-value-42" not in repr(r)


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
    # Remote access without authentication: ORT-001 says so, whatever ORT-003 says.
    ({"orthanc_remote_access_allowed": True, "orthanc_authentication_enabled": False}, "ORT-001"),
    ({"orthanc_remote_access_allowed": True}, "ORT-003"),
    # Orthanc's own HTTPS crashes: SslEnabled does not make remote access acceptable.
    ({"orthanc_remote_access_allowed": True, "orthanc_ssl_enabled": True}, "ORT-003"),
    # The DICOM listener binds every address: on only with DICOM TLS.
    ({"orthanc_dicom_enabled": True}, "ORT-004"),
    ({"orthanc_extra_config": {"Leaked": "client-secret-value-42"}}, "ORT-008"),
    # Orthanc's own HTTPS crashes on both releases: refused as the server role refuses it.
    ({"orthanc_ssl_enabled": True}, "ORT-010"),
    # The section is judged by the plugin's loader: its codes, not the compiler's.
    ({"orthanc_dicomweb_servers_in_database": True}, "SEC-002"),
    ({"server": {"VerifySSL": False}}, "SEC-001"),
    ({"server": {"TokenEndpoint": "http://idp.example.org/token"}}, "SEC-003"),
    ({"server": {"Url": "https://10.1.2.3/dicom-web"}}, "SEC-009"),
    ({"server": {"TokenEndpoint": "https://169.254.169.254/token"}}, "SEC-009"),
    ({"server": {"Issuer": "https://127.0.0.1:8443/realms/x"}}, "SEC-009"),
    ({"server": {"Timout": 3}}, "CFG-002"),
    ({"orthanc_http_port": "80x"}, "INPUT"),
    ({"orthanc_extra_config": {"AuthenticationEnabled": False}}, "INPUT"),
])
def test_each_rule_fires(change, rule):
    hv = json.loads(json.dumps(GOOD))
    if "server" in change:
        hv["orthanc_dicomweb_oauth"]["Servers"]["pacs"].update(change["server"])
    else:
        hv.update(change)
    r = compile_(hv)
    assert rule in rule_ids(r), [f.line() for f in r.findings]
    f = next(f for f in r.findings if f.rule == rule)
    assert f.host == "h1" and f.path and f.fix


def test_private_hosts_allowed_per_host_reach_the_plugin():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_dicomweb_oauth"]["Servers"]["pacs"]["Issuer"] = "https://10.20.0.15/realms/x"
    assert rule_ids(compile_(hv)) == ["SEC-009"]
    hv["orthanc_oauth_allow_private_hosts"] = ["10.20.0.15"]
    r = compile_(hv)
    assert r.ok and r.config["DicomWebOAuth"]["AllowPrivateHosts"] == ["10.20.0.15"]


def test_rate_limit_written_out_when_not_set():
    hv = json.loads(json.dumps(GOOD))
    del hv["orthanc_dicomweb_oauth"]["RateLimit"]
    r = compile_(hv)
    assert r.ok and r.config["DicomWebOAuth"]["RateLimit"] == {"Requests": 10, "WindowSeconds": 60}


@pytest.mark.parametrize("var,value", [
    ("orthanc_dicom_port", "8180"), ("orthanc_http_port", " 8043 "), ("orthanc_dicom_enabled", "false"),
    ("orthanc_remote_access_allowed", "no"), ("orthanc_authentication_enabled", "True"),
])
def test_extra_vars_strings_are_read_as_ansible_users_pass_them(var, value):
    r = compile_({**GOOD, var: value})
    assert r.ok, [f.line() for f in r.findings]
    key = {"orthanc_dicom_port": "DicomPort", "orthanc_http_port": "HttpPort", "orthanc_dicom_enabled":
           "DicomServerEnabled", "orthanc_remote_access_allowed": "RemoteAccessAllowed",
           "orthanc_authentication_enabled": "AuthenticationEnabled"}[var]
    assert r.config[key] == {"8180": 8180, " 8043 ": 8043, "false": False, "no": False, "True": True}[value]


def test_extra_vars_through_ansible_playbook(tmp_path):
    """-e passes strings: the filter in a real play reads them as the port and boolean they spell."""
    from tests.helpers.collection import run_playbook

    out = tmp_path / "compiled.json"
    play = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Compile
      ansible.builtin.set_fact:
        compiled: "{{{{ hostvars[inventory_hostname] | dicomweb_oauth.orthanc.orthanc_compile }}}}"
      no_log: true
    - name: Keep what is safe to show
      ansible.builtin.copy:
        content: "{{{{ {{'config': compiled.config, 'findings': compiled.findings}} | to_json }}}}"
        dest: {out}
        mode: "0600"
"""
    proc = run_playbook(tmp_path, play, args=("-e", "orthanc_dicom_port=8180", "-e", "orthanc_http_port=8043",
                                              "-e", "orthanc_remote_access_allowed=false",
                                              "-e", '{"orthanc_users": {"admin": "a-long-unique-password-1"}}'))
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads(out.read_text())
    assert result["findings"] == []
    assert (result["config"]["DicomPort"], result["config"]["HttpPort"]) == (8180, 8043)
    assert result["config"]["RemoteAccessAllowed"] is False


@pytest.mark.parametrize("var,value", [
    ("orthanc_dicomweb_oauth", {"Servers": ["pacs"]}), ("orthanc_dicomweb_oauth", {"Servers": "pacs"}),
    ("orthanc_dicomweb_oauth", {"Servers": 3}), ("orthanc_dicomweb_oauth", [1]),
    ("orthanc_oauth_allow_private_hosts", 5), ("orthanc_oauth_allow_private_hosts", [{"a": 1}]),
    ("orthanc_hardening_waivers", [{"id": ["ORT-001"], "reason": "a list for an id, by mistake"}]),
    ("orthanc_hardening_waivers", [{"id": "ORT-004", "reason": ["a", "list"]}]), ("orthanc_hardening_waivers", 7),
    ("orthanc_users", ["admin"]), ("orthanc_users", {"admin": {"nested": "x"}}), ("orthanc_http_port", 1.5),
    ("orthanc_storage_directory", ["x"]), ("orthanc_dicom_aet", {"a": 1}), ("orthanc_name", [1]),
    ("orthanc_extra_config", {"HttpTimeout": float("nan")}), ("orthanc_extra_config", "x"),
])
def test_malformed_values_are_findings_never_exceptions(var, value):
    r = compiler.compile_host("h1", {**json.loads(json.dumps(GOOD)), var: value})
    assert any(f.rule in ("INPUT", "CFG-002", "CFG-001") for f in r.findings), [f.line() for f in r.findings]


def test_secrets_with_quotes_and_backslashes_survive_orthancs_substitution():
    """Orthanc replaces ${VAR} in the file's text before parsing it: the values are escaped."""
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_users"] = {"admin": 'pass"word\\with-"quotes\n'}
    hv["orthanc_dicomweb_oauth"]["Cache"]["RedisPassword"] = 'red"is\\pass\u00e9$x'
    hv["orthanc_dicomweb_oauth"]["Servers"]["pacs"]["ClientSecret"] = 'cl"ient\\secret\u00e9$x'
    r = compile_(hv)
    assert r.ok, [f.line() for f in r.findings]
    env = parse_environment_file(compiler.render_environment(r.environment))
    full = json.loads(re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], r.rendered))
    assert full["RegisteredUsers"]["admin"] == hv["orthanc_users"]["admin"]
    assert full["DicomWebOAuth"]["Cache"]["RedisPassword"] == 'red"is\\pass\u00e9$x'
    # A file holds the client secret as it is: nothing to escape.
    assert list(r.secret_files.values()) == ['cl"ient\\secret\u00e9$x']


def parse_environment_file(text):
    """Reads the environment file the way systemd's EnvironmentFile= does for these lines."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, _, quoted = line.partition("=")
        assert quoted[0] == quoted[-1] == '"'
        out[name] = re.sub(r'\\(["\\$`])', r"\1", quoted[1:-1])
    return out


def test_the_section_is_judged_by_the_plugin_package_in_this_collection():
    loaded = sys.modules["orthanc_dicomweb_oauth.loader.config"]
    assert Path(loaded.__file__).resolve() == ROOT / "plugin/src/orthanc_dicomweb_oauth/loader/config.py"
    assert loaded.load_schema() == SCHEMA  # the very file the plugin ships, not a copy


def test_waivers_need_known_id_and_reason_and_are_reported():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_remote_access_allowed"] = True
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-003", "reason": "TLS terminates on the host's nginx"}]
    r = compile_(hv)
    assert r.ok and r.waived == [{"rule": "ORT-003", "path": "RemoteAccessAllowed", "host": "h1",
                                  "reason": "TLS terminates on the host's nginx"}]
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-003"}, {"id": "ORT-123", "reason": "no such rule at all"}]
    r = compile_(hv)
    assert rule_ids(r) == ["INPUT", "ORT-003"]
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-007", "reason": "the old private-address rule"}]
    r = compile_(hv)
    assert [f.message for f in r.findings if f.rule == "INPUT"] == [
        "ORT-007 is retired: " + rules.RETIRED_RULES["ORT-007"]]


# For every rule, a host that breaks that rule and no other: a rule another rule always
# shadows would decide nothing, and its waiver would let nothing through.
ALONE = {
    "ORT-001": {"orthanc_authentication_enabled": False},
    "ORT-002": {"orthanc_users": {"admin": "short-pw"}},
    "ORT-003": {"orthanc_remote_access_allowed": True},
    "ORT-004": {"orthanc_dicom_enabled": True},
    "ORT-008": {"orthanc_extra_config": {"Leaked": "client-secret-value-42"}},
    "ORT-010": {"orthanc_ssl_enabled": True},
}


def test_every_rule_decides_alone_and_its_waiver_lets_that_host_through():
    assert sorted(ALONE) == sorted(rules.RULES_BY_ID)
    for rid, change in ALONE.items():
        hv = {**json.loads(json.dumps(GOOD)), **change}
        assert rule_ids(compile_(hv)) == [rid], rid
        if rules.RULES_BY_ID[rid].waivable:
            hv["orthanc_hardening_waivers"] = [{"id": rid, "reason": "a written reason"}]
            assert compile_(hv).ok, rid


def test_the_waiver_example_in_the_docs_does_what_the_docs_say():
    text = (ROOT / "docs/hardening.md").read_text()
    example = yaml.safe_load(re.search(r"## Waivers\n\n```yaml\n(.*?)```", text, re.S).group(1))
    (waiver,) = example["orthanc_hardening_waivers"]
    rule = rules.RULES_BY_ID[waiver["id"]]
    hv = {**json.loads(json.dumps(GOOD)), **ALONE[rule.id], **example}
    r = compile_(hv)
    assert r.ok and [w["rule"] for w in r.waived] == [rule.id]


def test_leaked_secret_is_never_waivable():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_extra_config"] = {"Leaked": "client-secret-value-42"}
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-008", "reason": "trying to waive a leaked secret"}]
    assert "ORT-008" in rule_ids(compile_(hv))


def test_a_waiver_of_a_rule_that_cannot_be_waived_is_a_finding_and_waives_nothing():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_ssl_enabled"] = True
    hv["orthanc_hardening_waivers"] = [{"id": "ORT-010", "reason": "we want Orthanc's own HTTPS anyway"}]
    r = compile_(hv)
    assert rule_ids(r) == ["INPUT", "ORT-010"] and not r.waived
    assert [f.message for f in r.findings if f.rule == "INPUT"] == [
        "ORT-010 cannot be waived: " + rules.RULES_BY_ID["ORT-010"].rationale]


def test_server_role_refuses_https_with_the_compilers_rule(tmp_path):
    """One judge: the server role's preflight (filter orthanc_rule_findings) and the compiler give
    the same rule, message and fix for orthanc_ssl_enabled, and both accept it off."""
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_ssl_enabled"] = True
    (finding,) = [f for f in compile_(hv).findings if f.rule == "ORT-010"]
    out = tmp_path / "findings.json"
    playbook = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{{{ [{{'SslEnabled': true}} | dicomweb_oauth.orthanc.orthanc_rule_findings('ORT-010'),
                        {{'SslEnabled': false}} | dicomweb_oauth.orthanc.orthanc_rule_findings('ORT-010')] | to_json }}}}"
        dest: {out}
        mode: "0600"
"""
    r = run_playbook(tmp_path, playbook)
    assert r.returncode == 0, r.stdout + r.stderr
    on, off = json.loads(out.read_text())
    assert on == [f"ORT-010 {finding.path}: {finding.message}. Fix: {finding.fix}"] and off == []
    assert "on Debian 12" in finding.message and "on Debian 13" in finding.message


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
# Every variable the compiler reads gets arbitrary JSON-like values, mixed with values aimed at the
# rules (host spellings, secrets in URLs, the older plugin's keys). Nothing may raise, and the lint
# is clean for the section exactly when the plugin's loader accepts the section as Orthanc hands
# it over (the rendered file, ${VAR} replaced in its text from the environment file).

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
names = st.one_of(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), text)
leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(), text)
anything = st.recursive(leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(names, c, max_size=3),
                        max_leaves=6)
HOSTS = ["pacs.example.org", "2130706433", "0x7f000001", "127.1", "017700000001", "0177.0.0.1", "0",
         "[::ffff:127.0.0.1]", "10.0.0.1", "169.254.169.254", "metadata.google.internal", "8.8.8.8", "bad host"]
urls = st.one_of(st.builds(lambda sch, cred, host, q: f"{sch}://{cred}{host}/x{q}",
                           st.sampled_from(["https", "http", "ftp"]), st.sampled_from(["", "u:p4ssw0rd@"]),
                           st.sampled_from(HOSTS), st.sampled_from(["", "?client_secret=p4ssw0rd", "?a=b"])),
                 st.just("http://localhost:8042/oauth-dicom-web/servers/pacs"), text)
# Secrets as strings, and as what a YAML slip makes of them (a list, a mapping, yes, a number): the
# plugin refuses those, so the compiler must too, without moving them anywhere.
secrets = st.one_of(st.sampled_from(["client-secret-value-42", 'q"uo\\te-secret', "${FROM_ENV}"]), text,
                    st.sampled_from([["p4ssw0rd"], {"value": "p4ssw0rd"}, True, 12345678901]))
PLANTED = ("p4ssw0rd", "client-secret-value-42", 'q\\"uo', "a-long-unique-password-1", "redis-pass-value-7")


def either(targeted):
    return st.one_of(targeted, anything)


SERVER = {
    "Url": urls, "TokenEndpoint": urls, "Issuer": urls, "JwksUri": urls, "MetadataUrl": urls,
    "ClientId": text, "ClientSecret": secrets, "ServiceAccountKey": secrets,
    "ProviderType": st.sampled_from(["auto", "generic", "azure", "google", "google-metadata",
                                     "azure-managed-identity", "azuremanagedidentity", "keycloak", "aws", "AZURE"]),
    "Resource": st.just("https://dicom.healthcareapis.azure.com"), "TenantId": st.just("contoso"),
    "VerifySSL": st.one_of(st.booleans(), st.just("/etc/ssl/certs/ca.pem")), "AllowInsecureSSL": st.booleans(),
    "ValidateJWT": st.booleans(), "JWTAudience": text, "JWTAlgorithms": st.sampled_from(["RS256", ["ES256"], "HS256"]),
    "HttpHeaders": st.dictionaries(st.sampled_from(["Authorization", "Cookie", "X-Api-Key", "X-Trace"]), text),
    "ResilienceConfig": st.dictionaries(st.sampled_from(["RetryMaxAttempts", "CircuitBreakerTimeout", "Bogus"]),
                                        st.integers(0, 5)),
    "Timeout": st.integers(-1, 100), "DicomWebRoot": urls, "Region": text, "Timout": st.integers(),
}
server = st.fixed_dictionaries({"Url": either(urls)}, optional={k: either(v) for k, v in SERVER.items() if k != "Url"})
cache = st.fixed_dictionaries({}, optional={
    "Backend": either(st.sampled_from(["memory", "redis"])), "RedisPassword": secrets,
    "RedisUrl": either(st.sampled_from(["redis://r.example.org:6379/0", "rediss://:p4ssw0rd@r.example.org/0"])),
    "EncryptionKey": either(st.sampled_from(["a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=", "short"]))})
section = st.fixed_dictionaries({}, optional={
    "Servers": either(st.dictionaries(names, either(server), max_size=2)), "Cache": either(cache),
    "RateLimit": either(st.fixed_dictionaries({}, optional={"Requests": st.integers(-1, 50)})),
    "RateLimitRequests": either(st.integers(0, 9)), "LogLevel": either(st.sampled_from(["info", "INFO", "loud"])),
    "Redis": either(st.fixed_dictionaries({"Host": text, "Password": secrets})),
    "AllowPrivateHosts": either(st.lists(st.sampled_from(["127.0.0.1", "10.0.0.1", "::1", "10.0.0.0/8", "*"]))),
    "ResilienceConfig": anything, "CacheType": anything, "EnableMetrics": anything})
waivers = st.lists(st.fixed_dictionaries({}, optional={
    "id": either(st.sampled_from(["ORT-001", "ORT-004", "ORT-007", "ORT-008", "X"])),
    "reason": either(st.just("a written reason for this host"))}), max_size=2)
hostvars = st.fixed_dictionaries({}, optional={
    "orthanc_name": either(names), "orthanc_http_port": either(st.sampled_from([8042, "8180", 0, 70000, "x"])),
    "orthanc_dicom_port": either(st.sampled_from([4242, "4243"])), "orthanc_dicom_aet": either(text),
    "orthanc_dicom_enabled": either(st.booleans()), "orthanc_remote_access_allowed": either(st.booleans()),
    "orthanc_authentication_enabled": either(st.sampled_from([True, "true", "yes", False])),
    "orthanc_ssl_enabled": either(st.booleans()), "orthanc_dicomweb_servers_in_database": either(st.booleans()),
    "orthanc_users": either(st.dictionaries(names, either(secrets), max_size=2)),
    "orthanc_storage_directory": either(st.just("/srv/orthanc")), "orthanc_plugins_dir": anything,
    "orthanc_ssl_certificate": anything, "orthanc_https_ca_certificates": anything,
    "orthanc_oauth_plugin_dir": anything, "orthanc_dicomweb_oauth": either(section),
    "orthanc_oauth_allow_private_hosts": either(st.lists(st.sampled_from(["127.0.0.1", "10.0.0.1", "0x7f000001"]))),
    "orthanc_hardening_waivers": either(waivers),
    "orthanc_extra_config": either(st.dictionaries(st.sampled_from(["HttpTimeout", "Name", "Leak"]), anything)),
})
# Near-valid inventories (GOOD with one part drawn from the above), so that accepted sections are
# as common as refused ones.
near_valid = st.builds(
    lambda srv, extra, hosts: {**GOOD, "orthanc_oauth_allow_private_hosts": hosts, "orthanc_dicomweb_oauth": {
        **GOOD["orthanc_dicomweb_oauth"], "Servers": {"pacs": {**GOOD["orthanc_dicomweb_oauth"]["Servers"]["pacs"],
                                                             **srv}}}, **extra},
    st.fixed_dictionaries({}, optional={k: v for k, v in SERVER.items() if k not in ("Timout", "Region")}),
    st.fixed_dictionaries({}, optional={"orthanc_dicom_port": st.sampled_from(["4243", 104]),
                                        "orthanc_users": st.just({"ops": 'a-"long"-\\password'})}),
    st.lists(st.sampled_from(["127.0.0.1", "10.0.0.1", "::1", "169.254.169.254"]), max_size=2))
inventories = st.one_of(near_valid, hostvars)
PLUGIN_CODES = ("CFG-", "SEC-")


def runtime_verdict(result):
    """What the plugin decides on the rendered file as Orthanc reads it (no compiler code)."""
    env = parse_environment_file(compiler.render_environment(result.environment))
    known = {k: v for k, v in env.items() if "{{" not in v}
    full = json.loads(re.sub(r"\$\{(\w+)\}", lambda m: known.get(m.group(1), m.group(0)), result.rendered))
    _cfg, errors = sys.modules["orthanc_dicomweb_oauth.loader.config"].check_config(full["DicomWebOAuth"], {}, defer=True, host_files=False)
    servers = full["DicomWebOAuth"].get("Servers")
    errors += sys.modules["orthanc_dicomweb_oauth.loader.orthanc_settings"].orthanc_conflicts(
        full, list(servers) if isinstance(servers, dict) else [])
    return sorted({e.code for e in errors})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(inventories)
def test_any_inventory_compiles_or_is_refused_and_the_plugin_agrees(hv):
    r = compiler.compile_host("h", hv)  # never raises
    assert all(f.rule in rules.RULES_BY_ID or f.rule == "INPUT" or f.rule.startswith(PLUGIN_CODES)
               for f in r.findings)
    section_codes = sorted({f.rule for f in r.findings if f.rule.startswith(PLUGIN_CODES)})
    if r.rendered and "DicomWebOAuth" in r.config:
        assert section_codes == runtime_verdict(r)
    if r.ok:
        for value in (v for v in r.environment.values() if len(v) >= 8 and "{{" not in v):
            assert value not in r.rendered
    for name in r.environment if r.rendered else ():  # every secret moved is referenced by name
        assert "${" + name + "}" in r.rendered
    for f in r.findings:  # no finding repeats a secret
        assert "p4ssw0rd" not in f.message and "client-secret-value-42" not in f.message
    with tempfile.TemporaryDirectory() as out:  # nothing the lint writes holds one, whatever the verdict
        lint.write_outputs([r], out)
        written = "".join(p.read_text() for p in Path(out).iterdir())
        assert not [s for s in PLANTED if s in written]
        assert (written == "") == (not r.ok or not r.rendered)


def test_property_strategy_reaches_clean_compiles_with_a_section():
    """The property above means something only if random inventories can also be clean."""
    from hypothesis import find

    for predicate in (lambda r: r.ok, lambda r: not r.ok and any(f.rule.startswith(PLUGIN_CODES) for f in r.findings)):
        found = find(inventories, lambda hv, p=predicate: "DicomWebOAuth" in compiler.compile_host("h", hv).config
                     and p(compiler.compile_host("h", hv)), settings=settings(max_examples=3000, deadline=None,
                                                                               database=None))
        assert predicate(compiler.compile_host("h", found))


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
            assert "hashi_vault" not in f.read_text()  # templated secrets moved out too
    out = subprocess.run([*lint, "-i", str(ROOT / "tests/fixtures/broken-inventory/hosts.yml"), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    found = {(f["host"], f["rule"]) for f in report["findings"]}
    for rid in ["ORT-001", "ORT-002", "ORT-003", "ORT-004", "ORT-008",
                "SEC-001", "SEC-002", "SEC-003", "SEC-009", "CFG-002"]:
        assert ("bad-1.example.org", rid) in found, rid
    assert ("bad-2.example.org", "ORT-003") not in found and ("bad-2.example.org", "INPUT") in found
    assert report["waived"][0]["rule"] == "ORT-003" and "isolated" in report["waived"][0]["reason"]
    retired = [f for f in report["findings"] if f["path"] == "orthanc_hardening_waivers[2]"]
    assert retired and "ORT-007 is retired" in retired[0]["message"]
    assert "literal-secret-in-inventory" not in out.stdout


def test_lint_cli_reports_malformed_variables_without_a_traceback(tmp_path):
    """The inputs that crashed the CLI: each is a finding, exit 1, no traceback."""
    inv = tmp_path / "hosts.yml"
    hosts = {
        "servers-list.example.org": {"orthanc_dicomweb_oauth": {"Servers": ["pacs"]}},
        "servers-string.example.org": {"orthanc_dicomweb_oauth": {"Servers": "pacs"}},
        "servers-number.example.org": {"orthanc_dicomweb_oauth": {"Servers": 3}},
        "allow-number.example.org": {"orthanc_oauth_allow_private_hosts": 5},
        "waiver-list-id.example.org": {"orthanc_hardening_waivers": [{"id": ["ORT-001"], "reason": "a list, by mistake"}]},
    }
    for hv in hosts.values():
        hv["orthanc_users"] = {"admin": "a-long-unique-password-1"}
    inv.write_text(json.dumps({"all": {"hosts": hosts}}))
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "orthanc-config-lint.py"), "-i", str(inv), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    found = {(f["host"], f["rule"], f["path"]) for f in json.loads(out.stdout)["findings"]}
    for kind in ("list", "string", "number"):
        assert (f"servers-{kind}.example.org", "CFG-002", "DicomWebOAuth.Servers") in found
    assert ("allow-number.example.org", "INPUT", "orthanc_oauth_allow_private_hosts") in found
    assert ("waiver-list-id.example.org", "INPUT", "orthanc_hardening_waivers[0]") in found


def test_host_names_are_checked_before_they_become_file_names(tmp_path):
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    'a/b':\n    '../escape':\n    good.example.org:\n  vars:\n"
                   "    orthanc_users: {admin: a-long-unique-password-1}\n")
    out_dir = tmp_path / "out"
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "orthanc-config-lint.py"), "-i", str(inv),
                          "--output-dir", str(out_dir), "--json"], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    bad = {f["host"] for f in json.loads(out.stdout)["findings"] if f["path"] == "inventory_hostname"}
    assert bad == {"a/b", "../escape"}
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.example.org.orthanc.json"]
    assert not (tmp_path / "escape.orthanc.json").exists()


PROXY_PW = 'pr0xy-pass@:/%"q'
PROXIED = {**GOOD, "orthanc_outbound_proxy": {"url": "http://proxy.hospital.lan:3128", "username": "orthanc",
                                              "password": PROXY_PW, "no_proxy": ["pacs.hospital.lan", "10.0.0.0/8"]}}


def test_one_proxy_variable_gives_the_plugin_and_orthanc_the_same_proxy():
    r = compile_(PROXIED)
    assert r.ok, [f.line() for f in r.findings]
    assert r.config["DicomWebOAuth"]["Proxy"] == {
        "Url": "http://proxy.hospital.lan:3128", "Username": "orthanc", "Password": "${DWO_PROXY_PASSWORD}",
        "NoProxy": ["pacs.hospital.lan", "10.0.0.0/8"]}
    # Orthanc's libcurl takes the proxy from the service environment: Orthanc logs HttpProxy,
    # credentials included, when started with --verbose.
    assert "HttpProxy" not in r.config
    assert r.environment["https_proxy"] == r.environment["http_proxy"] == (
        "http://orthanc:pr0xy-pass%40%3A%2F%25%22q@proxy.hospital.lan:3128")
    assert r.environment["no_proxy"] == "pacs.hospital.lan,10.0.0.0/8,localhost,127.0.0.1,::1"
    assert r.environment["DWO_PROXY_PASSWORD"] == compiler.json_inner(PROXY_PW)
    for text in (r.rendered, json.dumps(r.summary())):
        assert PROXY_PW not in text and "pr0xy-pass%40" not in text


def test_a_proxy_without_credentials_and_without_an_oauth_section():
    hv = {**PROXIED, "orthanc_outbound_proxy": {"url": "http://proxy.hospital.lan:3128"}}
    del hv["orthanc_dicomweb_oauth"]
    r = compile_(hv)
    assert r.ok and "DicomWebOAuth" not in r.config
    assert r.environment["https_proxy"] == "http://proxy.hospital.lan:3128"


@pytest.mark.parametrize("proxy,rule", [
    ({"url": f"http://orthanc:{PROXY_PW}@proxy.lan:3128"}, "SEC-008"),
    ({"url": "http://proxy.lan"}, "CFG-002"),
    ({"url": "http://proxy.lan:3128", "password": PROXY_PW}, "CFG-002"),
    ({"url": "http://proxy.lan:3128", "username": "u", "password": "${PROXY_PASSWORD}"}, "INPUT"),
    ({"url": "http://proxy.lan:3128", "no_proxy": "pacs.lan"}, "INPUT"),
    ({"url": "http://proxy.lan:3128", "user": "u"}, "INPUT"),
    ("http://proxy.lan:3128", "INPUT"),
])
def test_a_bad_proxy_is_refused_and_never_rendered(proxy, rule):
    r = compile_({**GOOD, "orthanc_outbound_proxy": proxy})
    assert rule in rule_ids(r) and set(rule_ids(r)) <= {rule, "CFG-002"}, [f.line() for f in r.findings]
    assert "Proxy" not in r.config.get("DicomWebOAuth", {}) and "https_proxy" not in r.environment
    for part in (PROXY_PW, "pr0xy", '%"q'):  # not even the part a careless URL parse would show
        assert part not in r.rendered + json.dumps(r.summary())


def test_the_proxy_is_set_in_one_place():
    twice = json.loads(json.dumps(PROXIED))
    twice["orthanc_dicomweb_oauth"]["Proxy"] = {"Url": "http://proxy.hospital.lan:3128"}
    assert rule_ids(compile_(twice)) == ["INPUT"]
    tokens_only = json.loads(json.dumps(GOOD))
    tokens_only["orthanc_dicomweb_oauth"]["Proxy"] = {"Url": "http://proxy.hospital.lan:3128", "Username": "u",
                                                      "Password": "section-proxy-pw-1"}
    r = compile_(tokens_only)
    assert rule_ids(r) == ["CFG-010"]  # Orthanc's DICOMweb traffic would go direct
    assert "section-proxy-pw-1" not in r.rendered and r.environment["DWO_PROXY_PASSWORD"] == "section-proxy-pw-1"
    r = compile_({**GOOD, "orthanc_extra_config": {"HttpProxy": "proxy.hospital.lan:3128"}})
    assert rule_ids(r) == ["INPUT"]


def _pem(kind: str) -> str:
    return f"-----BEGIN {kind}-----\nMIIB{kind[:3]}\n-----END {kind}-----\n"


def test_dicom_tls_becomes_orthancs_settings_and_files():
    hv = {**json.loads(json.dumps(GOOD)), "orthanc_dicom_enabled": True, "orthanc_dicom_tls": {
        "certificate": _pem("CERTIFICATE"), "private_key": _pem("PRIVATE KEY") + "dicom-key-secret-material",
        "trusted_certificates": _pem("CERTIFICATE") * 2}}
    r = compile_(hv)
    assert r.ok, [f.line() for f in r.findings]
    assert {k: v for k, v in r.config.items() if k.startswith("DicomTls")} == {
        "DicomTlsEnabled": True, "DicomTlsCertificate": "/etc/orthanc/secrets/dicom-tls.crt",
        "DicomTlsPrivateKey": "/etc/orthanc/secrets/dicom-tls.key",
        "DicomTlsTrustedCertificates": "/etc/orthanc/secrets/dicom-tls-trusted.crt",
        "DicomTlsRemoteCertificateRequired": True}
    assert r.secret_files["/etc/orthanc/secrets/dicom-tls.key"].endswith("dicom-key-secret-material")
    assert "dicom-key-secret-material" not in r.rendered and r.config["DicomServerEnabled"] is True


@pytest.mark.parametrize("tls", [
    "yes", {"certificate": "not pem", "private_key": _pem("PRIVATE KEY"), "trusted_certificates": _pem("CERTIFICATE")},
    {"certificate": _pem("CERTIFICATE"), "trusted_certificates": _pem("CERTIFICATE")},
    {"certificate": _pem("CERTIFICATE"), "private_key": _pem("PRIVATE KEY"), "trusted_certificates": _pem("CERTIFICATE"),
     "remote_certificate_required": "no"},
    {"certificate": _pem("CERTIFICATE"), "private_key": _pem("PRIVATE KEY"), "trusted_certificates": _pem("CERTIFICATE"),
     "ciphers": "x"}])
def test_malformed_dicom_tls_is_an_input_finding(tls):
    r = compile_({**json.loads(json.dumps(GOOD)), "orthanc_dicom_enabled": True, "orthanc_dicom_tls": tls})
    assert "INPUT" in rule_ids(r) and not r.ok
    assert all("MIIB" not in f.message for f in r.findings)


def test_dicom_settings_are_managed():
    r = compile_({**json.loads(json.dumps(GOOD)), "orthanc_extra_config": {"DicomTlsEnabled": False}})
    assert "INPUT" in rule_ids(r)


def test_a_loader_that_does_not_import_is_explained_by_its_cause():
    missing = ModuleNotFoundError("No module named 'jsonschema'", name="jsonschema")
    assert compiler.loader_fix(missing).startswith("pip install jsonschema on the controller")
    broken = ImportError("this release of the plugin fails at import")
    assert "do not import (this release of the plugin fails at import)" in compiler.loader_fix(broken)
    inside = ModuleNotFoundError("No module named 'orthanc_dicomweb_oauth.x'", name="orthanc_dicomweb_oauth.x")
    assert "pip install" not in compiler.loader_fix(inside)


def test_a_secret_that_is_not_a_string_is_refused_and_moved_nowhere():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_dicomweb_oauth"]["Servers"]["pacs"]["ClientSecret"] = ["planted-list-secret"]
    hv["orthanc_dicomweb_oauth"]["Cache"]["RedisPassword"] = {"value": "planted-dict-secret"}
    hv["orthanc_dicomweb_oauth"]["Cache"]["EncryptionKey"] = True
    r = compile_(hv)
    found = {(f.rule, f.path) for f in r.findings}
    for key in ("Servers.pacs.ClientSecret", "Cache.RedisPassword", "Cache.EncryptionKey"):
        assert ("CFG-002", f"DicomWebOAuth.{key}") in found, found
    assert r.secret_files == {} and set(r.environment) == {"ORTHANC_USER_ADMIN_PASSWORD"}
    assert not any("planted" in f.message for f in r.findings)


def test_a_secret_the_provider_never_reads_is_left_out_with_a_warning():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_dicomweb_oauth"]["Servers"]["pacs"] = {
        "Url": "https://healthcare.googleapis.com/v1/dicomWeb", "ProviderType": "google",
        "ServiceAccountKey": '{"type": "service_account"}', "ClientSecret": "unused-secret-value-9"}
    r = compile_(hv)
    assert r.ok, [f.line() for f in r.findings]
    assert r.secret_files == {} and "unused-secret-value-9" not in r.rendered + json.dumps(r.environment)
    assert "server 'pacs': ClientSecret is set but provider google does not use it; remove it" in r.warnings


def test_a_variable_in_a_url_compiles_with_a_warning_that_names_it():
    hv = json.loads(json.dumps(GOOD))
    hv["orthanc_dicomweb_oauth"]["Servers"]["pacs"]["Url"] = "${STAGING_URL}/dicom-web"
    r = compile_(hv)
    assert r.ok, [f.line() for f in r.findings]
    assert any("Url holds ${STAGING_URL}" in w and "Vault lookup" in w for w in r.warnings), r.warnings


def test_the_lint_writes_no_file_for_a_refused_host(tmp_path):
    inv = tmp_path / "hosts.yml"
    bad = {**GOOD, "orthanc_dicomweb_oauth": {"Servers": {"pacs": {
        **GOOD["orthanc_dicomweb_oauth"]["Servers"]["pacs"],
        "Url": "https://user:planted-url-secret@pacs.example.org/dicom-web"}}}}
    inv.write_text(json.dumps({"all": {"hosts": {"good.example.org": GOOD, "bad.example.org": bad}}}))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "bad.example.org.orthanc.json").write_text("an earlier run's file")
    out = subprocess.run([sys.executable, str(ROOT / "bin" / "orthanc-config-lint.py"), "-i", str(inv),
                          "--output-dir", str(out_dir)], capture_output=True, text=True)
    assert out.returncode == 1 and "SEC-008" in out.stdout
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.example.org.orthanc.json"]
    assert "planted-url-secret" not in out.stdout + (out_dir / "good.example.org.orthanc.json").read_text()
