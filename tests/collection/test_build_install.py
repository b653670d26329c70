"""The built collection tarball: what it contains, and that its module, lookup and filter run
from an ansible-galaxy installation into an empty collections path; ansible-doc for each."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile

import pytest

from testenv.openbao import OpenBao
from tests.helpers.collection import BIN, ansible_env, build_and_install, run_playbook


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return build_and_install(tmp_path_factory.mktemp("galaxy"))


def test_tarball_contents(installed):
    tarball, _ = installed
    with tarfile.open(tarball) as t:
        names = set(t.getnames())
    for kept in ("MANIFEST.json", "meta/runtime.yml", "plugins/modules/token_check.py",
                 "plugins/lookup/vault_kv.py", "plugins/filter/orthanc_compile.py", "bin/orthanc-config-lint.py",
                 "plugin/src/dicomweb_oauth_plugin.py",
                 "plugin/src/orthanc_dicomweb_oauth/loader/schema/dicomweb-oauth.schema.json",
                 "docs/hardening.md", "roles/monitoring/tasks/main.yml", "roles/config/tasks/main.yml"):
        assert kept in names, kept
    for dropped in ("tests", "bench", "testenv", ".ci", "scripts", "plugin/tests", "Makefile",
                    "inventories/demo", "playbooks/demo_verify.yml", "extensions"):
        assert not any(n == dropped or n.startswith(dropped + "/") for n in names), dropped


def test_installed_plugins_run(installed, tmp_path):
    _, colls = installed
    with OpenBao(tmp_path, mode="dev") as vault:
        vault.put_kv2("secret", "orthanc/pacs", {"client_secret": "installed-secret-value-5"})
        vault.add_policy("pacs", {"secret/data/orthanc/pacs": ["read"]})
        token = vault.add_token(["pacs"])
        out = tmp_path / "r.json"
        inventory = tmp_path / "inventory.yml"
        inventory.write_text("""all:
  hosts:
    localhost:
      orthanc_users: {admin: a-long-unique-password-1}
      orthanc_dicomweb_oauth:
        RateLimit: {Requests: 5, WindowSeconds: 60}
        Servers:
          pacs:
            Url: https://pacs.example.org/dicom-web
            TokenEndpoint: https://idp.example.org/token
            ClientId: orthanc
            ClientSecret: "{{ lookup('dicomweb_oauth.orthanc.vault_kv', 'orthanc/pacs', key='client_secret') }}"
""")
        playbook = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Compile
      ansible.builtin.set_fact:
        compiled: "{{{{ hostvars[inventory_hostname] | dicomweb_oauth.orthanc.orthanc_compile }}}}"
      no_log: true
    - name: Module from the installed collection, no Orthanc there, must fail cleanly
      dicomweb_oauth.orthanc.token_check:
        url: http://127.0.0.1:9
        retries: 1
      register: check
      ignore_errors: true
    - name: Keep
      ansible.builtin.copy:
        content: "{{{{ {{'ok': compiled.ok, 'env': compiled.environment | list,
                      'secret_file': compiled.config.DicomWebOAuth.Servers.pacs.ClientSecretFile,
                      'files_sha': compiled.secret_files | map(attribute='content') | map('hash', 'sha256') | list,
                      'check_failed': check.failed, 'check_msg': check.msg, 'changed': check.changed}} | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""
        proc = run_playbook(tmp_path, playbook, extra_env={"VAULT_ADDR": vault.url, "VAULT_TOKEN": token},
                            colls=colls, args=("-i", str(inventory)))
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-2000:]
    r = json.loads(out.read_text())
    # The secret read from Vault goes to its file on the host, never to orthanc.json.
    assert r["ok"] and r["secret_file"] == "/etc/orthanc/secrets/pacs.client-secret"
    assert r["files_sha"] == [hashlib.sha256(b"installed-secret-value-5").hexdigest()]
    assert r["env"] == ["ORTHANC_USER_ADMIN_PASSWORD"]
    assert r["check_failed"] and "did not become ready" in r["check_msg"] and r["changed"] is False
    assert "installed-secret-value-5" not in proc.stdout + proc.stderr
    assert str(colls) in " ".join(str(p) for p in colls.rglob("token_check.py"))


@pytest.mark.parametrize("kind,name", [("module", "token_check"), ("lookup", "vault_kv"),
                                       ("filter", "orthanc_compile")])
def test_ansible_doc(installed, kind, name):
    _, colls = installed
    proc = subprocess.run([str(BIN / "ansible-doc"), "-t", kind, f"dicomweb_oauth.orthanc.{name}"],
                          capture_output=True, text=True, env=ansible_env(colls), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "EXAMPLES" in proc.stdout and ("RETURN" in proc.stdout or "RETURN VALUES" in proc.stdout)


@pytest.mark.parametrize("playbook", ["site", "orthanc"])
def test_the_main_playbook_runs_by_name_from_the_installed_collection(installed, tmp_path, playbook):
    """`ansible-playbook dicomweb_oauth.orthanc.site` (and its Orthanc play alone) from outside any
    clone: the playbook, its imports and every role it names resolve in the installed collection.
    (The molecule scenarios deploy with it to fresh hosts.)"""
    _, colls = installed
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    orthanc: {hosts: {node-1: {}}}\n    monitoring: {hosts: {mon-1: {}}}\n")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), f"dicomweb_oauth.orthanc.{playbook}",
                           "--list-tasks"], capture_output=True, text=True, env=ansible_env(colls), timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "play #1 (orthanc): Orthanc with OAuth2 for its DICOMweb client" in proc.stdout or \
        "(orthanc): Orthanc with OAuth2 for its DICOMweb client" in proc.stdout, proc.stdout
    for task in ("dicomweb_oauth.orthanc.common : Preflight - a Debian release",
                 "dicomweb_oauth.orthanc.config : Preflight"):
        assert task in proc.stdout, (task, proc.stdout)
    assert ("(monitoring): Monitoring" in proc.stdout) == (playbook == "site")


def test_tags_select_a_phase_and_the_preflights_always_run(installed, tmp_path):
    """`--tags server_install` on the main playbook: the server role's install tasks (the shared
    role's package tasks, imported, take the tag), every preflight, and nothing else."""
    _, colls = installed
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    orthanc: {hosts: {node-1: {}}}\n")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "dicomweb_oauth.orthanc.site",
                           "--list-tasks", "--tags", "server_install"], capture_output=True, text=True,
                          env=ansible_env(colls), timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = [line.strip() for line in proc.stdout.splitlines() if "TAGS:" in line]
    assert any(line.startswith("dicomweb_oauth.orthanc.common : Install the packages") for line in listed), listed
    assert any(line.startswith("dicomweb_oauth.orthanc.config : Preflight") for line in listed), listed
    assert any(line.startswith("dicomweb_oauth.orthanc.common : Preflight - a Debian release") for line in listed)
    assert not any(" : Storage directory" in line or "Restart Orthanc" in line or " : Install nginx" in line
                   for line in listed), listed
