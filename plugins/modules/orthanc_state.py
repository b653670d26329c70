#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: orthanc_state
author: dicomweb_oauth.orthanc maintainers (@dicomweb-oauth)
version_added: "0.2.0"
short_description: What Orthanc loads at start, against what it was last started with; the last good state
description:
  - The config role's record of Orthanc's state, so that every change that needs Orthanc
    restarted is restarted once, by that role, and gated, whichever role made it and whichever
    run, even one that failed before its restart.
  - C(action=inspect) fingerprints every part Orthanc reads at start (orthanc.json, the
    environment file, the secret files it does not re-read, the OAuth plugin's files, the
    systemd drop-ins, the versions of Orthanc's packages) and compares them with the record of
    the last start that passed the deployment gate. Client secret files (C(*.client-secret)) are
    fingerprinted apart, since the plugin reads them again without a restart.
  - C(action=save) records the installed state as the last good one, after the gate passed. It
    keeps a copy of the configuration, the environment file, the secrets directory and the
    plugin's directory, and the fingerprints, under I(state_dir) (root only).
  - C(action=restore) puts that copy back (every file the run changed, including secrets and the
    plugin) and says which parts it restored. Packages cannot be put back; the answer says when
    they differ from the last good start.
  - Never returns the content of a file.
options:
  action:
    description: What to do.
    type: str
    choices: [inspect, save, restore]
    default: inspect
  state_dir:
    description: Where the record and the last good copy are kept (made root-only, mode 0700).
    type: path
    required: true
  config_file:
    description: Orthanc's configuration file.
    type: path
    required: true
  environment_file:
    description: The environment file of Orthanc's service.
    type: path
    required: true
  secrets_dir:
    description: The directory of the secret files the configuration names.
    type: path
    required: true
  plugin_dir:
    description: The OAuth plugin's directory; an empty string when the plugin is not installed.
    type: str
    default: ""
  dropin_dir:
    description: The systemd drop-in directory of Orthanc's unit.
    type: path
    default: /etc/systemd/system/orthanc.service.d
  packages:
    description: Debian packages whose installed versions Orthanc runs.
    type: list
    elements: str
    default: [orthanc, orthanc-dicomweb, orthanc-python]
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: C(inspect) reads only; C(save) and C(restore) report what they would do and write nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: What differs from the last start that passed the gate
  dicomweb_oauth.orthanc.orthanc_state:
    state_dir: /var/lib/orthanc-dicomweb-oauth
    config_file: /etc/orthanc/orthanc.json
    environment_file: /etc/orthanc/orthanc.env
    secrets_dir: /etc/orthanc/secrets
    plugin_dir: /usr/lib/orthanc-dicomweb-oauth
  register: orthanc_state

- name: Restart when something Orthanc reads at start differs
  ansible.builtin.systemd_service:
    name: orthanc
    state: restarted
  when: orthanc_state.restart_for | length > 0
"""

RETURN = r"""
differs:
  description: The parts whose installed state differs from the last good start (all of them when there is none).
  returned: always
  type: list
  elements: str
  sample: [plugin]
restart_for:
  description: Of I(differs), the parts that need a restart (all but C(client secrets)).
  returned: always
  type: list
  elements: str
plugin_version:
  description: The plugin version installed and the one of the last good start (empty when unknown).
  returned: always
  type: dict
  sample: {installed: 0.2.1, last_good: 0.2.0}
packages:
  description: The package versions installed and those of the last good start.
  returned: always
  type: dict
last_good:
  description: Whether a last good state is recorded.
  returned: always
  type: bool
restored:
  description: With C(action=restore), the parts put back (those that differed from the last good state).
  returned: when action is restore
  type: list
  elements: str
"""

import hashlib
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

RECORD = "started-with.json"
COPY = "last-good"
# What the plugin reads again by itself: a change needs no restart.
LIVE_SUFFIX = ".client-secret"


def file_digest(path):
    if not os.path.isfile(path):
        return "absent"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(65536), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_files(root, keep=None):
    """Relative paths of the regular files under root (no bytecode), sorted."""
    found = []
    if not root or not os.path.isdir(root):
        return found
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in files:
            if name.endswith(".pyc"):
                continue
            rel = os.path.relpath(os.path.join(base, name), root)
            if keep is None or keep(rel):
                found.append(rel)
    return sorted(found)


def tree_digest(root, keep=None):
    if not root or not os.path.isdir(root):
        return "absent"
    h = hashlib.sha256()
    for rel in tree_files(root, keep):
        h.update(rel.encode("utf-8") + b"\0" + file_digest(os.path.join(root, rel)).encode("ascii") + b"\0")
    return h.hexdigest()


def package_versions(module, names):
    versions = {}
    for name in names:
        rc, out, dummy = module.run_command(["dpkg-query", "-W", "-f=${Version}", name])
        versions[name] = out.strip() if rc == 0 and out.strip() else "absent"
    return versions


def plugin_version(plugin_dir):
    try:
        with open(os.path.join(plugin_dir, "VERSION")) as f:
            return f.read().strip()
    except (IOError, OSError, TypeError):
        return ""


def installed_state(module):
    p = module.params
    packages = package_versions(module, p["packages"])
    digests = {
        "configuration": file_digest(p["config_file"]),
        "environment": file_digest(p["environment_file"]),
        "secret files": tree_digest(p["secrets_dir"], lambda rel: not rel.endswith(LIVE_SUFFIX)),
        "client secrets": tree_digest(p["secrets_dir"], lambda rel: rel.endswith(LIVE_SUFFIX)),
        "plugin": tree_digest(p["plugin_dir"]),
        "systemd drop-ins": tree_digest(p["dropin_dir"]),
        "packages": hashlib.sha256(json.dumps(packages, sort_keys=True).encode("utf-8")).hexdigest(),
    }
    return {"digests": digests, "packages": packages, "plugin_version": plugin_version(p["plugin_dir"])}


def read_record(state_dir):
    try:
        with open(os.path.join(state_dir, COPY, RECORD)) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return None


def compare(installed, record):
    last = (record or {}).get("digests", {})
    differs = [part for part in sorted(installed["digests"]) if installed["digests"][part] != last.get(part)]
    return {
        "differs": differs,
        "restart_for": [part for part in differs if part != "client secrets"],
        "plugin_version": {"installed": installed["plugin_version"],
                           "last_good": (record or {}).get("plugin_version", "")},
        "packages": {"installed": installed["packages"], "last_good": (record or {}).get("packages", {})},
        "last_good": record is not None,
    }


def copy_file(src, dest):
    """src to dest with its mode and owner; a missing src removes dest."""
    if not os.path.exists(src):
        if os.path.lexists(dest):
            os.remove(dest)
        return
    tmp = dest + ".dwo-tmp"
    shutil.copy2(src, tmp)
    st = os.stat(src)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.rename(tmp, dest)


def copy_tree(src, dest):
    """dest becomes an exact copy of src (modes and owners kept); a missing src removes dest."""
    if os.path.lexists(dest):
        shutil.rmtree(dest)
    if not src or not os.path.isdir(src):
        return
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for base, dirs, files in os.walk(src):
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            os.lchown(os.path.join(dest, os.path.relpath(path, src)), st.st_uid, st.st_gid)
    st = os.stat(src)
    os.chown(dest, st.st_uid, st.st_gid)


def parts(module):
    """(name in the copy, live path, is a tree) of every part that is copied and put back."""
    p = module.params
    found = [("orthanc.json", p["config_file"], False), ("orthanc.env", p["environment_file"], False),
             ("secrets", p["secrets_dir"], True)]
    if p["plugin_dir"]:
        found.append(("plugin", p["plugin_dir"], True))
    return found


def save(module, installed):
    state_dir = module.params["state_dir"]
    if not os.path.isdir(state_dir):
        os.makedirs(state_dir)
    os.chmod(state_dir, 0o700)
    new = os.path.join(state_dir, COPY + ".new")
    if os.path.lexists(new):
        shutil.rmtree(new)
    os.mkdir(new, 0o700)
    for name, live, is_tree in parts(module):
        (copy_tree if is_tree else copy_file)(live, os.path.join(new, name))
    record = dict(installed, saved=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with open(os.path.join(new, RECORD), "w") as f:
        json.dump(record, f, sort_keys=True, indent=1)
    old = os.path.join(state_dir, COPY)
    if os.path.lexists(old):
        os.rename(old, old + ".old")
    os.rename(new, old)
    if os.path.lexists(old + ".old"):
        shutil.rmtree(old + ".old")


def restore(module):
    copy = os.path.join(module.params["state_dir"], COPY)
    for name, live, is_tree in parts(module):
        (copy_tree if is_tree else copy_file)(os.path.join(copy, name), live)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", choices=["inspect", "save", "restore"], default="inspect"),
            state_dir=dict(type="path", required=True),
            config_file=dict(type="path", required=True),
            environment_file=dict(type="path", required=True),
            secrets_dir=dict(type="path", required=True),
            plugin_dir=dict(type="str", default=""),
            dropin_dir=dict(type="path", default="/etc/systemd/system/orthanc.service.d"),
            packages=dict(type="list", elements="str", default=["orthanc", "orthanc-dicomweb", "orthanc-python"]),
        ),
        supports_check_mode=True,
    )
    action = module.params["action"]
    installed = installed_state(module)
    record = read_record(module.params["state_dir"])
    result = compare(installed, record)
    if action == "inspect":
        module.exit_json(changed=False, **result)
    if action == "save":
        changed = bool(result["differs"])
        if changed and not module.check_mode:
            save(module, installed)
        module.exit_json(changed=changed, **result)
    if record is None:
        module.fail_json(msg="no last good state to restore under %s" % module.params["state_dir"], **result)
    restored = [part for part in result["differs"] if part not in ("packages", "systemd drop-ins")]
    if restored and not module.check_mode:
        restore(module)
    module.exit_json(changed=bool(restored), restored=restored, **result)


if __name__ == "__main__":
    main()
