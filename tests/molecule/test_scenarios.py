"""The molecule scenarios of extensions/molecule on fresh Debian 12 and 13 hosts (podman
containers booting systemd, from the images scripts/build-image.sh makes with debootstrap).

They deploy the collection the way users get it: `ansible-galaxy collection build`, then
`ansible-galaxy collection install` into an empty path, and a user's own playbook (written here,
outside the repository) that names the roles by FQCN. Each scenario asserts its own behaviour
(see its molecule.yml); this test chooses fresh secrets, runs `molecule test`, and checks that no
secret reached molecule's or Ansible's output. It prints the time of each action (first
converge, idempotent second run, check mode...)."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from testenv.openbao import OpenBao
from testenv.process import ManagedProcess
from testenv.tls import self_signed, signed_by
from tests.conftest import report
from tests.helpers.collection import BIN, ROOT, ansible_env, build_and_install
from tests.helpers.warnings import ansible_core_version, ansible_deprecations, dependency_warnings

pytestmark = [pytest.mark.real,
              pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# "[default > converge] Executing" (no terminal) or "default ➜ converge: Executing".
ACTION = re.compile(r"(?:\[[\w-]+ > |➜ )(\w+)(?:\]|:) Executing")
TOOK = re.compile(r"Playbook run took (\d+) days, (\d+) hours, (\d+) minutes, (\d+) seconds")


def sections(out: str) -> list[tuple[str, str]]:
    """(action, its output) in the order molecule ran them."""
    parts = ACTION.split(out)
    return list(zip(parts[1::2], parts[2::2]))


def action_output(out: str, action: str) -> str:
    return "".join(text for a, text in sections(out) if a == action)


def action_times(out: str) -> dict[str, int]:
    """Seconds per molecule action, from the ansible.posix.timer lines of each action's playbooks."""
    times: dict[str, int] = {}
    for action, text in sections(out):
        for d, h, m, s in TOOK.findall(text):
            times[action] = times.get(action, 0) + ((int(d) * 24 + int(h)) * 60 + int(m)) * 60 + int(s)
    return times


# A user's playbook: the roles by FQCN from the installed collection. The demo role takes its
# provider and filter from this checkout (they are test components, not in the collection).
# A user's playbook outside the clone: the installed collection's main playbook, with the demo
# role's test components taken from this clone (they do not ship in the tarball).
USER_PLAYBOOK = """---
- name: The collection's main playbook, as installed
  ansible.builtin.import_playbook: dicomweb_oauth.orthanc.site
  vars:
    demo_idp_source: {root}/testenv/idp
    demo_target_filter_source: {root}/testenv/orthanc_target/jwt_filter.py
"""


@pytest.fixture(scope="module")
def images() -> list[str]:
    return [subprocess.run(["bash", str(ROOT / "scripts" / "build-image.sh"), release], capture_output=True,
                           text=True, check=True, timeout=900).stdout.strip().splitlines()[-1]
            for release in ("bookworm", "trixie")]


# The failure scenario's cases deploy again to a converged host: its demo services are not what
# they test, so they run the collection's Orthanc play alone (DWO_CASE_PLAYBOOK), which saves a
# no-op play a case.
ORTHANC_PLAY_ONLY = """---
- name: The collection's Orthanc play, as installed
  ansible.builtin.import_playbook: dicomweb_oauth.orthanc.orthanc
"""
# The cluster scenario's nodes reach the services host by its address, which its inventory reads
# from that host's network facts: the main playbook gathers the minimal subset, so the user's
# playbook gathers them first.
CLUSTER_PLAYBOOK = """---
- name: The services host's network facts (the cluster's inventory gives the nodes its address)
  hosts: demo_services
  gather_subset: [min, network]
  tasks: []

- name: The collection's main playbook, as installed
  ansible.builtin.import_playbook: orthanc.yml
"""
# Its cases about the configuration alone run the config role alone (DWO_CONFIG_PLAYBOOK).
CONFIG_ROLE_ONLY = """---
- name: The collection's config role alone
  hosts: orthanc
  gather_subset: [min]
  become: true
  roles:
    - role: dicomweb_oauth.orthanc.config
"""


@pytest.fixture(scope="module")
def user_setup(tmp_path_factory) -> tuple[Path, Path]:
    """(collections path with the installed tarball, the user's playbook), both outside the clone."""
    tmp = tmp_path_factory.mktemp("user")
    _, colls = build_and_install(tmp)
    installed = colls / "ansible_collections" / "dicomweb_oauth" / "orthanc"
    assert (installed / "MANIFEST.json").is_file() and not installed.is_symlink()
    playbook = tmp / "playbooks" / "orthanc.yml"
    playbook.parent.mkdir()
    playbook.write_text(USER_PLAYBOOK.format(root=ROOT))
    (playbook.parent / "orthanc-only.yml").write_text(ORTHANC_PLAY_ONLY)
    (playbook.parent / "config-only.yml").write_text(CONFIG_ROLE_ONLY)
    (playbook.parent / "cluster.yml").write_text(CLUSTER_PLAYBOOK)
    return colls, playbook


@pytest.mark.timeout(1800)
# default: once per release; failure: Debian 13; cluster: one node on each release.
# rotation: Debian 13, with every secret from a real Vault (OpenBao on this machine's loopback).
# tls: a Debian 13 Orthanc host behind the TLS front and a Debian 12 client and monitoring host.
# DWO_FAILURE_RELEASE=bookworm runs the failure scenario on Debian 12 instead (on demand; make test
# runs it on Debian 13).
@pytest.mark.parametrize(("scenario", "release"), [("default", "bookworm"), ("default", "trixie"),
                                                   ("failure", os.environ.get("DWO_FAILURE_RELEASE", "trixie")),
                                                   ("cluster", "mixed"),
                                                   ("rotation", "trixie"), ("tls", "mixed")])
def test_molecule_scenario(scenario, release, images, user_setup, tmp_path):
    chosen = {
        "DWO_TEST_ADMIN_PASSWORD": "adm-" + secrets.token_hex(12),
        "DWO_TEST_CLIENT_SECRET": "cs-" + secrets.token_hex(16),
        "DWO_TEST_REDIS_PASSWORD": "rp-" + secrets.token_hex(12),
        "DWO_TEST_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    colls, playbook = user_setup
    env = ansible_env(colls, chosen)
    env["DWO_CONVERGE_PLAYBOOK"] = str(playbook.parent / "cluster.yml" if scenario == "cluster" else playbook)
    env["DWO_RELEASE"] = release
    env.pop("ANSIBLE_REMOTE_TEMP")  # the containers' own /tmp, not a path of this machine
    env.pop("ANSIBLE_PYTHON_INTERPRETER")  # each inventory names the hosts' python3
    env.pop("ANSIBLE_STDOUT_CALLBACK")
    env["ANSIBLE_PIPELINING"] = "1"
    molecule = [str(BIN / "molecule")]
    if scenario == "failure":
        _plugin_releases(colls, tmp_path / "releases", env)
        env["DWO_CASE_PLAYBOOK"] = str(playbook.parent / "orthanc-only.yml")
        env["DWO_CONFIG_PLAYBOOK"] = str(playbook.parent / "config-only.yml")
    if scenario == "tls":
        _tls_material(tmp_path / "tls", chosen, env)
    # The servers last, right before the try that stops them: a preparation that fails leaves none.
    vault = _demo_vault(tmp_path, chosen, env) if scenario == "rotation" else None
    vaults = _failing_vaults(tmp_path, chosen, env) if scenario == "failure" else []
    t0 = time.monotonic()
    try:
        # One stream: molecule's action headers (stderr) between the playbooks' output (stdout).
        proc = subprocess.run([*molecule, "test", "-s", scenario], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=1700)
    finally:
        subprocess.run([*molecule, "destroy", "-s", scenario], cwd=ROOT, env=env, capture_output=True, timeout=300)
        for v in vaults:
            v.stop()
        if vault is not None:
            # The secret the rotation made, to look for it in the output too.
            chosen["rotated"] = vault.api("GET", "secret/data/dwo-demo/client")["data"]["data"]["client_secret"]
            vault.stop()
    total = time.monotonic() - t0
    out = ANSI.sub("", proc.stdout)
    (tmp_path / "molecule.log").write_text(out)  # kept by pytest for the last runs
    assert proc.returncode == 0, out[-6000:]
    assert "Playbook run took" in out  # the scenario's playbooks did run
    for value in chosen.values():
        assert value not in out
    times = ", ".join(f"{a} {s} s" for a, s in action_times(out).items())
    report(f"molecule {scenario} ({release}): {total:.0f} s in all; {times}")
    if scenario == "default":
        # The runs showed diffs (ANSIBLE_DIFF_ALWAYS), orthanc.json's too, and no secret was in them.
        assert "--- before: /etc/orthanc/orthanc.json" in out
        # A check-mode run (with diffs) of the converged host predicts no change.
        check = action_output(out, "check")
        assert re.findall(r"changed=(\d+)", check) == ["0"], check[-3000:]
    if scenario == "failure":
        for line in sorted(set(re.findall(r"rollback timing: [^\"]+", out))):
            report(line)
    if scenario == "rotation":
        assert chosen["rotated"] != chosen["DWO_TEST_CLIENT_SECRET"]
        m = re.search(r"rotation under load: [^\"]+", out)
        assert m, out[-3000:]
        report(m.group(0))
    if scenario == "tls":
        for pattern in (r"remote access from another host: [^\"]+", r"Prometheus on another host scrapes [^\"]+",
                        r"certificate renewed by a reload: [^\"]+"):
            m = re.search(pattern, out)
            assert m, out[-3000:]
            report(m.group(0))
    if scenario == "cluster":
        m = re.search(r"\d+ token requests in \d+ s for 2 nodes: [0-9.]+ per refresh period", out)
        assert m, out[-3000:]
        report(m.group(0))


def _plugin_releases(colls: Path, directory: Path, env: dict[str, str]) -> None:
    """For the failure scenario's restart cases, two more releases of the installed collection:
    one whose plugin differs by a line (a plugin-only upgrade) and one whose plugin fails at import.
    Each is a collections path (DWO_COLLECTIONS_UPGRADE, _BROKEN) and a version (DWO_VERSION_...)."""
    installed = colls / "ansible_collections" / "dicomweb_oauth" / "orthanc"
    manifest = json.loads((installed / "MANIFEST.json").read_text())
    env["DWO_VERSION_INSTALLED"] = manifest["collection_info"]["version"]
    # The broken one fails in a runtime module, which only Orthanc imports: the controller's
    # compiler imports the plugin's loader modules, and would refuse a broken loader before any change.
    for name, module, line in (("upgrade", "__init__.py", "# a plugin-only upgrade: one more line\n"),
                               ("broken", "runtime/orthanc_plugin.py",
                                "raise ImportError('this release of the plugin fails at import')\n")):
        release = directory / name / "ansible_collections" / "dicomweb_oauth" / "orthanc"
        shutil.copytree(installed, release)
        source = release / "plugin" / "src" / "orthanc_dicomweb_oauth" / module
        source.write_text(source.read_text() + line)
        version = f"{manifest['collection_info']['version']}-{name}"
        manifest["collection_info"]["version"] = version
        (release / "MANIFEST.json").write_text(json.dumps(manifest))
        manifest["collection_info"]["version"] = env["DWO_VERSION_INSTALLED"]
        env[f"DWO_COLLECTIONS_{name.upper()}"] = str(directory / name)
        env[f"DWO_VERSION_{name.upper()}"] = version


def _demo_vault(tmp_path: Path, chosen: dict[str, str], env: dict[str, str]) -> OpenBao:
    """An OpenBao holding the demo's secrets where inventories/demo reads them (as make demo
    sets it up): its address and an AppRole go to molecule's environment, and the root token,
    which the rotation uses to write the new secret."""
    vault = OpenBao(tmp_path, mode="dev").start()
    vault.put_kv2("secret", "dwo-demo/admin", {"password": chosen["DWO_TEST_ADMIN_PASSWORD"]})
    vault.put_kv2("secret", "dwo-demo/client", {"client_secret": chosen["DWO_TEST_CLIENT_SECRET"]})
    vault.add_policy("dwo-demo-read", {"secret/data/dwo-demo/*": ["read"]})
    role_id, secret_id = vault.add_approle("dwo-demo", ["dwo-demo-read"])
    env.update({"VAULT_ADDR": vault.url, "VAULT_TOKEN": vault.root_token, "ANSIBLE_HASHI_VAULT_AUTH_METHOD": "approle",
                "ANSIBLE_HASHI_VAULT_ROLE_ID": role_id, "ANSIBLE_HASHI_VAULT_SECRET_ID": secret_id})
    chosen.update({"vault token": vault.root_token, "approle secret id": secret_id})
    return vault


def _tls_material(directory: Path, chosen: dict[str, str], env: dict[str, str]) -> None:
    """A test CA, the Orthanc host's certificate for orthanc.tls.test (and a renewed one), and a
    modality's client certificate, in DWO_TLS_DIR; the private keys are looked for in the output."""
    ca = self_signed(directory, "ca", ("dwo test CA",))
    for name, hosts in (("server", ("orthanc.tls.test",)), ("server2", ("orthanc.tls.test",)), ("client", ("modality",))):
        _, key = signed_by(ca, directory, name, hosts)
        chosen[f"{name} key"] = Path(key).read_text().splitlines()[1]
    env["DWO_TLS_DIR"] = str(directory)


def _failing_vaults(tmp_path: Path, chosen: dict[str, str], env: dict[str, str]) -> list[OpenBao]:
    """For the failure scenario's Vault cases: an OpenBao whose AppRole's policy does not cover
    the path read (permission denied), and a production-like one, with TLS, that is sealed (the
    same role id and secret id exist there)."""
    dev = OpenBao(tmp_path / "denied", mode="dev").start()
    dev.put_kv2("secret", "radiology/admin", {"password": "not-for-orthanc-" + secrets.token_hex(8)})
    sealed = OpenBao(tmp_path / "sealed", mode="production").start()
    for v in (dev, sealed):
        v.add_policy("orthanc-only", {"secret/data/orthanc/*": ["read"]})
    role_id, secret_id = dev.add_approle("orthanc", ["orthanc-only"])
    sealed.seal()
    env.update({"DWO_TEST_VAULT_ADDR": dev.url, "DWO_TEST_VAULT_ROLE_ID": role_id, "DWO_TEST_VAULT_SECRET_ID": secret_id,
                "DWO_TEST_SEALED_VAULT_ADDR": sealed.url, "DWO_TEST_SEALED_VAULT_CACERT": str(sealed.ca_file)})
    chosen["approle secret id"] = secret_id
    return [dev, sealed]


# The same user's playbook and the default scenario's converge, idempotence and check, driven
# from a Debian 13 controller: trixie's Python 3.13 with the newest ansible-core and `ansible`
# (scripts/build-controller-image.sh), the collection built and installed by that ansible-galaxy.
# The controller drives this machine's podman through its API socket.
CONTROLLER_RUN = """
set -u
ansible --version | head -n 1
python3 --version
ansible-galaxy collection build {root} --output-path /tmp/build >/dev/null
ansible-galaxy collection install /tmp/build/dicomweb_oauth-orthanc-*.tar.gz -p /tmp/colls >/dev/null
export ANSIBLE_COLLECTIONS_PATH=/tmp/colls
molecule test -s default
"""


@pytest.mark.timeout(1800)
def test_default_scenario_from_a_debian_13_controller(images, tmp_path):
    chosen = {
        "DWO_TEST_ADMIN_PASSWORD": "adm-" + secrets.token_hex(12),
        "DWO_TEST_CLIENT_SECRET": "cs-" + secrets.token_hex(16),
    }
    playbook = tmp_path / "orthanc.yml"
    playbook.write_text(USER_PLAYBOOK.format(root=ROOT))
    sock = tmp_path / "podman" / "podman.sock"
    service = ManagedProcess("podman-service", sock.parent, ["podman", "system", "service", "--time=0", f"unix://{sock}"],
                             ready=sock.exists)
    service.start(timeout=30)
    # Secrets by name (podman copies them from its environment, never onto a command line).
    settings = {"DWO_CONVERGE_PLAYBOOK": str(playbook), "DWO_RELEASE": "trixie", "ANSIBLE_PIPELINING": "1",
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_HOST_KEY_CHECKING": "0",
                "CONTAINER_HOST": "unix:///run/podman/podman.sock", "DWO_PODMAN_EXTRA_OPTS": "[]",
                "DWO_TEST_SEQUENCE": "[destroy, create, converge, idempotence, check, destroy]"}
    env = {**os.environ, **chosen}
    passed = [a for name in chosen for a in ("-e", name)] + [a for k, v in settings.items() for a in ("-e", f"{k}={v}")]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "in-controller.sh"), *passed,
                               "-v", f"{sock}:/run/podman/podman.sock", "-v", f"{tmp_path}:{tmp_path}",
                               "--", "bash", "-c", CONTROLLER_RUN.format(root=ROOT)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1700)
    finally:
        subprocess.run(["podman", "rm", "--force", "--ignore", "dwo-molecule-default"], capture_output=True, timeout=120)
        service.stop()
    total = time.monotonic() - t0
    out = ANSI.sub("", proc.stdout)
    (tmp_path / "controller.log").write_text(out)
    assert proc.returncode == 0, out[-6000:]
    # The version lines wherever they stand: a dependency may print a warning before them.
    assert (ansible_core_version(out) or "").startswith("2.21."), out[:1500]
    assert re.search(r"^Python 3\.13\.", out, re.M), out[:1500]
    for value in chosen.values():
        assert value not in out
    check = action_output(out, "check")
    assert re.findall(r"changed=(\d+)", check) == ["0"], check[-3000:]
    # Nothing of ours is deprecated in ansible-core 2.21 (its deprecation warnings are on by default),
    # and no dependency of the pinned controller set warns (each reported as what it is).
    assert not ansible_deprecations(out), [line for line in out.splitlines() if "DEPRECATION" in line]
    deps = dependency_warnings(out)
    assert not deps, "a dependency warns (not Ansible, not this collection): " + "; ".join(map(str, deps))
    times = ", ".join(f"{a} {s} s" for a, s in action_times(out).items())
    report(f"molecule default (trixie) from a Debian 13 controller, ansible-core 2.21 on Python 3.13: "
           f"{total:.0f} s in all; {times}")
