"""The example inventories read their secrets from a real Vault as written: an OpenBao holding
every secret they name, an AppRole in the environment as their header says, and the compiler
run on each example's first host through ansible-playbook. Every secret must arrive where the
compiler puts it (the environment file or a client secret file), and none in the output."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets

import pytest
import yaml

from testenv.openbao import OpenBao
from tests.helpers.collection import ROOT, run_playbook

pytestmark = pytest.mark.real

PLAYBOOK = """
- hosts: orthanc[0]
  connection: local
  gather_facts: false
  tasks:
    - name: Compile (the lookups run here)
      ansible.builtin.set_fact:
        compiled: "{{ hostvars[inventory_hostname] | dicomweb_oauth.orthanc.orthanc_compile }}"
      no_log: true
    - name: Keep hashes of where the secrets went
      ansible.builtin.copy:
        content: "{{ (compiled.environment.values() | list + compiled.secret_files | map(attribute='content') | list)
                     | map('hash', 'sha256') | list | to_json }}"
        dest: "{out}"
        mode: "0600"
"""


def _secrets() -> dict[str, dict[str, str]]:
    key = json.dumps({"type": "service_account", "client_email": "orthanc@imaging.iam.gserviceaccount.com",
                      "private_key": "-----BEGIN PRIVATE KEY-----\\n" + secrets.token_hex(32) + "\\n-----END PRIVATE KEY-----\\n",
                      "token_uri": "https://oauth2.googleapis.com/token"})
    return {"orthanc/admin": {"password": "adm-" + secrets.token_hex(12)},
            "orthanc/azure": {"client_secret": "az-" + secrets.token_hex(16)},
            "orthanc/redis": {"password": "rd-" + secrets.token_hex(12),
                              "token_key": base64.b64encode(secrets.token_bytes(32)).decode()},
            "orthanc/gcp": {"service_account_json": key},
            "orthanc/keycloak": {"client_secret": "kc-" + secrets.token_hex(16)},
            "orthanc/tls": {"certificate": "-----BEGIN CERTIFICATE-----\nnot-checked-here\n-----END CERTIFICATE-----\n",
                            "private_key": "tls-key-" + secrets.token_hex(16)}}


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    with OpenBao(tmp_path_factory.mktemp("examples-vault"), mode="dev") as v:
        values = _secrets()
        for path, data in values.items():
            v.put_kv2("secret", path, data)
        v.add_policy("orthanc-read", {"secret/data/orthanc/*": ["read"]})
        role_id, secret_id = v.add_approle("orthanc", ["orthanc-read"])
        yield v, values, {"VAULT_ADDR": v.url, "ANSIBLE_HASHI_VAULT_AUTH_METHOD": "approle",
                          "ANSIBLE_HASHI_VAULT_ROLE_ID": role_id, "ANSIBLE_HASHI_VAULT_SECRET_ID": secret_id}


def _named(example: str, values: dict[str, dict[str, str]]) -> list[str]:
    """The secrets the example's group variables name, from their lookup expressions."""
    text = (ROOT / "inventories/examples" / example / "group_vars/orthanc/main.yml").read_text()
    yaml.safe_load(text)  # well-formed
    found = re.findall(r"vault_kv2_get', '([^']+)'\)\.secret\.(\w+)", text)
    assert found, example
    # tls_front's certificate and key are read by that role, not by the compiler.
    return [values[path][key] for path, key in found if path != "orthanc/tls"]


@pytest.mark.parametrize("example", ["azure", "google", "keycloak"])
def test_example_reads_its_secrets_from_vault(example, vault, tmp_path):
    _, values, env = vault
    out = tmp_path / "hashes.json"
    proc = run_playbook(tmp_path, PLAYBOOK.replace("{out}", str(out)), extra_env=env,
                        args=("-i", str(ROOT / "inventories/examples" / example / "hosts.yml")))
    assert proc.returncode == 0 and out.exists(), proc.stdout[-3000:] + proc.stderr[-2000:]
    landed = set(json.loads(out.read_text()))
    for value in _named(example, values):
        # A client secret file holds the value as it is; the environment file, JSON-escaped.
        forms = {value, json.dumps(value)[1:-1]}
        assert landed & {hashlib.sha256(f.encode()).hexdigest() for f in forms}, value[:6]
        assert value not in proc.stdout + proc.stderr
    assert env["ANSIBLE_HASHI_VAULT_SECRET_ID"] not in proc.stdout + proc.stderr
