"""The vault_kv lookup (a layer on community.hashi_vault) through real ansible-playbook runs
against a real OpenBao (testenv.openbao, the open-source fork of Vault with Vault's HTTP API) in
its production-like mode: raft storage, TLS with its own CA, initialised and unsealed through the
API. One case per success path (KV v2 latest and by version, KV v1, token, AppRole, a namespace)
and one per failure kind (not found, denied by policy, bad token, bad AppRole, sealed,
unreachable, TLS not verified, no address): each failure names its kind and carries no token,
secret id or secret. Also run against an outside Vault when VAULT_ADDR and VAULT_TOKEN are set."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from testenv.openbao import OpenBao
from tests.helpers.collection import run_playbook

pytestmark = pytest.mark.real

SECRET = {"client_secret": "vault-secret-value-9d3", "password": "another-secret-71c"}


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
{tasks}
    - name: Results
      ansible.builtin.copy:
        content: "{{{{ results | to_json }}}}"
        dest: "{out}"
        mode: "0600"
      vars:
        results: "{{{{ {results} }}}}"
"""


def task(name: str, expr: str, secret: bool = True) -> str:
    return f"""    - name: {name}
      ansible.builtin.set_fact:
        {name}: "{{{{ {expr} }}}}"
      ignore_errors: true
      register: {name}_r
      no_log: {str(secret).lower()}
"""


def run(tmp_path, cases: dict[str, str], env: dict[str, str]) -> tuple[dict[str, Any], str]:
    tasks = "".join(task(n, e) for n, e in cases.items())
    results = "{" + ", ".join(
        f"'{n}': {{'failed': {n}_r.failed | default(false), 'msg': {n}_r.msg | default(''),"
        f" 'value': ({n} | default('')) | hash('sha256')}}" for n in cases) + "}"
    out = tmp_path / "results.json"
    out.unlink(missing_ok=True)
    proc = run_playbook(tmp_path, PLAYBOOK.format(tasks=tasks, results=results, out=out), extra_env=env)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout + proc.stderr


def sha(value: Any) -> str:
    import hashlib

    text = value if isinstance(value, str) else json.dumps(value)
    return hashlib.sha256(text.encode()).hexdigest()


LK = "lookup('dicomweb_oauth.orthanc.vault_kv'"


READ_ORTHANC = {"secret/data/orthanc/*": ["read"], "kv1/orthanc/*": ["read"]}


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    """One production-like OpenBao for the module (its start takes several seconds)."""
    with OpenBao(tmp_path_factory.mktemp("openbao"), mode="production") as v:
        v.enable_kv("secret", 2)
        v.enable_kv("kv1", 1)
        v.put_kv2("secret", "orthanc/azure", {"old": "v1"})
        v.put_kv2("secret", "orthanc/azure", SECRET)
        v.put_kv2("secret", "radiology/other", {"client_secret": "other-secret-5e"})
        v.put_kv1("kv1", "orthanc/legacy", {"client_secret": "kv1-secret-value-33"})
        v.add_namespace("imaging")
        v.enable_kv("secret", 2, namespace="imaging")
        v.put_kv2("secret", "orthanc/ns", {"client_secret": "namespaced-secret-8a"}, namespace="imaging")
        v.add_policy("orthanc-read", READ_ORTHANC)
        v.add_policy("orthanc-read", {"secret/data/orthanc/*": ["read"]}, namespace="imaging")
        yield v


def test_lookup_success_cases(tmp_path, vault):
    token = vault.add_token(["orthanc-read"])
    role_id, secret_id = vault.add_approle("orthanc", ["orthanc-read"])
    ns_token = vault.add_token(["orthanc-read"], namespace="imaging")
    common = f"url='{vault.url}', ca_cert='{vault.ca_file}'"
    cases = {
        "kv2_key": f"{LK}, 'orthanc/azure', key='client_secret', {common})",
        "kv2_all": f"{LK}, 'orthanc/azure', {common})",
        "kv2_version": f"{LK}, 'orthanc/azure', version=1, key='old', {common})",
        "kv1": f"{LK}, 'orthanc/legacy', engine_version=1, mount_point='kv1', key='client_secret', {common})",
        "approle": f"{LK}, 'orthanc/azure', key='password', auth_method='approle', role_id='{role_id}',"
                   f" secret_id='{secret_id}', {common})",
        "namespace": f"{LK}, 'orthanc/ns', key='client_secret', namespace='imaging', token='{ns_token}', {common})",
        "no_verify": f"{LK}, 'orthanc/azure', key='client_secret', url='{vault.url}', validate_certs=false)",
    }
    res, out = run(tmp_path, cases, {"VAULT_TOKEN": token})
    for name in cases:
        assert not res[name]["failed"], (name, res[name]["msg"])
    assert res["kv2_key"]["value"] == sha("vault-secret-value-9d3")
    assert res["kv2_version"]["value"] == sha("v1")
    assert res["no_verify"]["value"] == sha("vault-secret-value-9d3")
    assert res["kv1"]["value"] == sha("kv1-secret-value-33")
    assert res["approle"]["value"] == sha("another-secret-71c")
    assert res["namespace"]["value"] == sha("namespaced-secret-8a")
    for s in ("vault-secret-value-9d3", "another-secret-71c", "kv1-secret-value-33", "namespaced-secret-8a",
              secret_id):
        assert s not in out


def test_lookup_failure_kinds(tmp_path, vault):
    token = vault.add_token(["orthanc-read"])
    role_id, _ = vault.add_approle("orthanc-denied", ["orthanc-read"])
    common = f"url='{vault.url}', ca_cert='{vault.ca_file}'"
    cases = {
        "not_found": f"{LK}, 'orthanc/missing', {common})",
        "denied": f"{LK}, 'radiology/other', {common})",
        "bad_token": f"{LK}, 'orthanc/azure', token='hvs.not-a-token', {common})",
        "bad_approle": f"{LK}, 'orthanc/azure', auth_method='approle', role_id='{role_id}', secret_id='wrong-secret-id-55', {common})",
        "missing_key": f"{LK}, 'orthanc/azure', key='nope', {common})",
        "no_ca": f"{LK}, 'orthanc/azure', url='{vault.url}')",
        "unreachable": f"{LK}, 'orthanc/azure', url='https://127.0.0.1:9', ca_cert='{vault.ca_file}')",
        "no_addr": f"{LK}, 'orthanc/azure')",
    }
    res, out = run(tmp_path, cases, {"VAULT_TOKEN": token})
    expect = {"not_found": "vault not-found", "denied": "vault permission-denied", "bad_token": "vault permission-denied",
              "bad_approle": "vault auth", "missing_key": "has no key 'nope'", "no_ca": "TLS verification failed",
              "unreachable": "vault unreachable", "no_addr": "vault config"}
    for name, text in expect.items():
        assert res[name]["failed"], name
        assert text in res[name]["msg"], (name, res[name]["msg"])
    assert "client_secret" in res["missing_key"]["msg"]  # names the keys, never the values
    vault.seal()
    try:
        res, out2 = run(tmp_path, {"sealed": f"{LK}, 'orthanc/azure', {common})"}, {"VAULT_TOKEN": token})
    finally:
        vault.unseal()
    assert res["sealed"]["failed"] and "vault sealed" in res["sealed"]["msg"], res["sealed"]["msg"]
    for s in ("vault-secret-value-9d3", "wrong-secret-id-55", token):
        assert s not in out + out2


@pytest.fixture
def env_vault(tmp_path):
    """VAULT_ADDR, VAULT_TOKEN (and VAULT_CACERT, VAULT_NAMESPACE) of an outside Vault when they
    are set, else of an OpenBao in dev mode started here: the lookup configured by the
    environment alone, as on an operator's controller."""
    if os.environ.get("VAULT_ADDR") and os.environ.get("VAULT_TOKEN"):
        yield {k: os.environ[k] for k in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT", "VAULT_NAMESPACE")
               if k in os.environ}
        return
    with OpenBao(tmp_path, mode="dev") as dev:
        yield {"VAULT_ADDR": dev.url, "VAULT_TOKEN": dev.root_token}


def test_lookup_configured_by_the_environment(tmp_path, env_vault):
    import hvac

    client = hvac.Client(url=env_vault["VAULT_ADDR"], token=env_vault["VAULT_TOKEN"],
                         namespace=env_vault.get("VAULT_NAMESPACE"), verify=env_vault.get("VAULT_CACERT") or True)
    client.secrets.kv.v2.create_or_update_secret(path="dicomweb-oauth-test", secret=SECRET, mount_point="secret")
    res, out = run(tmp_path, {"real": f"{LK}, 'dicomweb-oauth-test', key='client_secret')",
                              "missing": f"{LK}, 'dicomweb-oauth-test-missing')"}, env_vault)
    assert not res["real"]["failed"] and res["real"]["value"] == sha(SECRET["client_secret"]), res["real"]["msg"]
    assert res["missing"]["failed"] and "vault not-found" in res["missing"]["msg"]
    assert SECRET["client_secret"] not in out and env_vault["VAULT_TOKEN"] not in out


CHV = "lookup('community.hashi_vault.vault_kv2_get'"


def test_community_hashi_vault_with_approle(tmp_path, vault):
    """The ecosystem's lookup, as the example inventories and the demo use it: AppRole from the
    environment (ANSIBLE_HASHI_VAULT_*, the CA in ANSIBLE_HASHI_VAULT_CA_CERT), and each failure the config
    role's preflight stops on, with its message and no secret id in the output."""
    role_id, secret_id = vault.add_approle("orthanc-chv", ["orthanc-read"])
    env = {"VAULT_ADDR": vault.url, "ANSIBLE_HASHI_VAULT_CA_CERT": str(vault.ca_file),
           "ANSIBLE_HASHI_VAULT_AUTH_METHOD": "approle", "ANSIBLE_HASHI_VAULT_ROLE_ID": role_id,
           "ANSIBLE_HASHI_VAULT_SECRET_ID": secret_id}
    cases = {
        "kv2": f"{CHV}, 'orthanc/azure').secret.client_secret",
        "kv2_version": f"{CHV}, 'orthanc/azure', version=1).secret.old",
        "kv1": "lookup('community.hashi_vault.vault_kv1_get', 'orthanc/legacy', engine_mount_point='kv1').secret.client_secret",
        "not_found": f"{CHV}, 'orthanc/missing')",
        "denied": f"{CHV}, 'radiology/other')",
        "bad_secret_id": f"{CHV}, 'orthanc/azure', secret_id='wrong-secret-id-77')",
        "tls_not_verified": f"{CHV}, 'orthanc/azure', ca_cert='/etc/ssl/certs/ca-certificates.crt')",
        "unreachable": f"{CHV}, 'orthanc/azure', url='https://127.0.0.1:9')",
    }
    res, out = run(tmp_path, cases, env)
    assert not res["kv2"]["failed"] and res["kv2"]["value"] == sha(SECRET["client_secret"]), res["kv2"]["msg"]
    assert res["kv2_version"]["value"] == sha("v1") and res["kv1"]["value"] == sha("kv1-secret-value-33")
    expect = {"not_found": "Invalid or missing path ['orthanc/missing']",
              "denied": "Permission Denied to path ['radiology/other']",
              "bad_secret_id": "invalid role or secret ID", "tls_not_verified": "CERTIFICATE_VERIFY_FAILED",
              "unreachable": "Connection refused"}
    for name, text in expect.items():
        assert res[name]["failed"] and text in res[name]["msg"], (name, res[name]["msg"])
    vault.seal()
    try:
        sealed, out2 = run(tmp_path, {"sealed": f"{CHV}, 'orthanc/azure')"}, env)
    finally:
        vault.unseal()
    assert sealed["sealed"]["failed"] and "Vault is sealed" in sealed["sealed"]["msg"]
    for s in (secret_id, SECRET["client_secret"], "kv1-secret-value-33"):
        assert s not in out + out2


def test_why_vault_kv_stays_for_token_auth(tmp_path, vault):
    """The reason this collection keeps its own lookup (docs/collection.md): with token auth,
    community.hashi_vault 7.1.0, the newest release (in the ansible 12.3.0 package we pin, and in
    ansible 14.5.0), fails every read on ansible-core 2.19+ ("Header part ... must be of type str
    or bytes", its issue 496) and its error message prints the Vault token. When this test fails,
    the release we pin works with tokens too: then vault_kv can go (with a migration note)."""
    token = vault.add_token(["orthanc-read"])
    common = f"url='{vault.url}', ca_cert='{vault.ca_file}'"
    theirs = f"lookup('community.hashi_vault.vault_kv2_get', 'orthanc/azure', {common}).secret.client_secret"
    ours = f"{LK}, 'orthanc/azure', key='client_secret', {common})"
    res, _ = run(tmp_path, {"theirs": theirs, "ours": ours}, {"VAULT_TOKEN": token})
    assert not res["ours"]["failed"] and res["ours"]["value"] == sha(SECRET["client_secret"])
    assert res["theirs"]["failed"] and "must be of type str or bytes" in res["theirs"]["msg"], res["theirs"]
    assert token in res["theirs"]["msg"]  # the token, in the error message
