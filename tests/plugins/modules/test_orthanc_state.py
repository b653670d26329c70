"""orthanc_state, run by Ansible on this machine against real files: what differs from the last
good start, what a save keeps and a restore puts back (the role's use of it on real hosts is in
the molecule scenarios default and failure)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.helpers.collection import run_playbook

SECRET = "planted-secret-value-4711"
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: State
      dicomweb_oauth.orthanc.orthanc_state:
        action: {action}
        state_dir: {root}/state
        config_file: {root}/etc/orthanc.json
        environment_file: {root}/etc/orthanc.env
        secrets_dir: {root}/etc/secrets
        plugin_dir: {root}/plugin
        dropin_dir: {root}/dropins
        packages: [bash, dwo-no-such-package]
      register: state
    - name: Keep
      ansible.builtin.copy:
        content: "{{{{ state | to_json }}}}"
        dest: "{root}/result.json"
        mode: "0600"
      check_mode: false
"""


@pytest.fixture
def host(tmp_path):
    root = tmp_path / "host"
    for d in ("etc/secrets", "plugin/orthanc_dicomweb_oauth", "dropins"):
        (root / d).mkdir(parents=True)
    files = {"etc/orthanc.json": '{"Name": "a"}\n', "etc/orthanc.env": f'SECRET="{SECRET}"\n',
             "etc/secrets/pacs.client-secret": SECRET, "etc/secrets/dicom-tls.key": "key-1",
             "plugin/VERSION": "0.2.0\n", "plugin/orthanc_dicomweb_oauth/__init__.py": "v = 1\n",
             "dropins/10-config.conf": "[Service]\n"}
    for rel, text in files.items():
        (root / rel).write_text(text)
        (root / rel).chmod(0o640)
    return root


def state(tmp_path, root, action="inspect", check=False):
    r = run_playbook(tmp_path, PLAYBOOK.format(action=action, root=root), args=("--check",) if check else ())
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert SECRET not in out
    text = (root / "result.json").read_text()
    (root / "result.json").unlink()
    assert SECRET not in text  # never a file's content in its answer
    return json.loads(text)


PARTS = ["client secrets", "configuration", "environment", "packages", "plugin", "secret files", "systemd drop-ins"]


def test_nothing_recorded_means_everything_differs_and_a_save_records_it(tmp_path, host):
    first = state(tmp_path, host)
    assert first["differs"] == PARTS and first["last_good"] is False and first["changed"] is False
    assert first["restart_for"] == [p for p in PARTS if p != "client secrets"]
    assert first["packages"]["installed"]["dwo-no-such-package"] == "absent"
    assert first["packages"]["installed"]["bash"] not in ("", "absent")
    assert state(tmp_path, host, "save", check=True)["changed"] is True
    assert not (host / "state").exists()  # check mode writes nothing
    assert state(tmp_path, host, "save")["changed"] is True
    assert stat.S_IMODE(os.stat(host / "state").st_mode) == 0o700
    copy = host / "state" / "last-good"
    assert (copy / "secrets" / "pacs.client-secret").read_text() == SECRET
    assert stat.S_IMODE(os.stat(copy / "orthanc.env").st_mode) == 0o640
    again = state(tmp_path, host)
    assert again["differs"] == [] and again["last_good"] is True
    assert state(tmp_path, host, "save")["changed"] is False
    assert again["plugin_version"] == {"installed": "0.2.0", "last_good": "0.2.0"}


def test_a_client_secret_alone_needs_no_restart_the_rest_does(tmp_path, host):
    state(tmp_path, host, "save")
    (host / "etc/secrets/pacs.client-secret").write_text("another-secret")
    got = state(tmp_path, host)
    assert got["differs"] == ["client secrets"] and got["restart_for"] == []
    (host / "etc/secrets/dicom-tls.key").write_text("key-2")
    (host / "dropins/20-hardening.conf").write_text("[Service]\n")
    got = state(tmp_path, host)
    assert got["restart_for"] == ["secret files", "systemd drop-ins"]


def test_a_restore_puts_back_every_part_that_changed(tmp_path, host):
    state(tmp_path, host, "save")
    (host / "plugin/VERSION").write_text("0.2.1\n")
    (host / "plugin/orthanc_dicomweb_oauth/__init__.py").write_text("raise ImportError('broken')\n")
    (host / "plugin/orthanc_dicomweb_oauth/new_module.py").write_text("x = 1\n")
    (host / "etc/secrets/pacs.client-secret").write_text("a-bad-new-secret")
    (host / "etc/orthanc.json").write_text('{"Name": "b"}\n')
    got = state(tmp_path, host)
    assert got["differs"] == ["client secrets", "configuration", "plugin"]
    assert got["plugin_version"] == {"installed": "0.2.1", "last_good": "0.2.0"}
    assert state(tmp_path, host, "restore", check=True)["restored"] == ["client secrets", "configuration", "plugin"]
    assert (host / "plugin/VERSION").read_text() == "0.2.1\n"  # check mode put nothing back
    restored = state(tmp_path, host, "restore")
    assert restored["changed"] is True and restored["restored"] == ["client secrets", "configuration", "plugin"]
    assert (host / "plugin/VERSION").read_text() == "0.2.0\n"
    assert (host / "plugin/orthanc_dicomweb_oauth/__init__.py").read_text() == "v = 1\n"
    assert not (host / "plugin/orthanc_dicomweb_oauth/new_module.py").exists()
    assert (host / "etc/secrets/pacs.client-secret").read_text() == SECRET
    assert (host / "etc/orthanc.json").read_text() == '{"Name": "a"}\n'
    assert stat.S_IMODE(os.stat(host / "etc/secrets/pacs.client-secret").st_mode) == 0o640
    assert state(tmp_path, host)["differs"] == []


def test_restore_without_a_last_good_state_fails_and_changes_nothing(tmp_path, host):
    r = run_playbook(tmp_path, PLAYBOOK.format(action="restore", root=host))
    assert r.returncode != 0 and "no last good state to restore" in r.stdout
    assert (host / "etc/orthanc.json").read_text() == '{"Name": "a"}\n'
