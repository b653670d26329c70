"""The vault_kv lookup through real ansible-playbook runs, against testenv.vault.FakeVault (which
speaks the documented subset of Vault's HTTP API), or against a real Vault when VAULT_ADDR and
VAULT_TOKEN are set (the test then writes its own secrets under secret/dicomweb-oauth-test)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from testenv.vault import FakeVault
from tests.helpers.collection import run_playbook

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


@pytest.fixture
def vault(tmp_path):
    with FakeVault(tls_dir=tmp_path / "tls") as v:
        v.put_kv2("secret", "orthanc/azure", {"old": "v1"})
        v.put_kv2("secret", "orthanc/azure", SECRET)
        v.put_kv1("kv1", "orthanc/legacy", {"client_secret": "kv1-secret-value-33"})
        v.put_kv2("secret", "orthanc/ns", {"client_secret": "namespaced-secret-8a"}, namespace="imaging")
        yield v


def test_lookup_success_cases(tmp_path, vault):
    token = vault.add_token(["secret/orthanc/", "kv1/orthanc/"])
    role_id, secret_id = vault.add_approle(["secret/orthanc/"])
    ns_token = vault.add_token(["secret/orthanc/"], namespace="imaging")
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
    assert any(r["namespace"] == "imaging" for r in vault.requests)
    for s in ("vault-secret-value-9d3", "another-secret-71c", "kv1-secret-value-33", "namespaced-secret-8a",
              secret_id):
        assert s not in out


def test_lookup_failure_kinds(tmp_path, vault):
    token = vault.add_token(["secret/orthanc/"])
    common = f"url='{vault.url}', ca_cert='{vault.ca_file}'"
    cases = {
        "not_found": f"{LK}, 'orthanc/missing', {common})",
        "denied": f"{LK}, 'radiology/other', {common})",
        "bad_token": f"{LK}, 'orthanc/azure', token='hvs.not-a-token', {common})",
        "bad_approle": f"{LK}, 'orthanc/azure', auth_method='approle', role_id='nope', secret_id='wrong-secret-id-55', {common})",
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
    vault.sealed = True
    res, out2 = run(tmp_path, {"sealed": f"{LK}, 'orthanc/azure', {common})"}, {"VAULT_TOKEN": token})
    assert res["sealed"]["failed"] and "vault sealed" in res["sealed"]["msg"]
    for s in ("vault-secret-value-9d3", "wrong-secret-id-55", token):
        assert s not in out + out2


@pytest.mark.skipif(not (os.environ.get("VAULT_ADDR") and os.environ.get("VAULT_TOKEN")),
                    reason="no real Vault (set VAULT_ADDR and VAULT_TOKEN to run against one)")
def test_lookup_against_real_vault(tmp_path):
    import hvac

    client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"],
                         verify=os.environ.get("VAULT_CACERT") or True)
    client.secrets.kv.v2.create_or_update_secret(path="dicomweb-oauth-test", secret=SECRET, mount_point="secret")
    env = {k: os.environ[k] for k in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT", "VAULT_NAMESPACE") if k in os.environ}
    res, out = run(tmp_path, {"real": f"{LK}, 'dicomweb-oauth-test', key='client_secret')",
                              "missing": f"{LK}, 'dicomweb-oauth-test-missing')"}, env)
    assert not res["real"]["failed"] and res["real"]["value"] == sha(SECRET["client_secret"])
    assert res["missing"]["failed"] and "vault not-found" in res["missing"]["msg"]
    assert SECRET["client_secret"] not in out
