"""site.yml with the server, oauth_plugin and config roles on a fresh Debian 12 host: a podman
container booting systemd, from the image scripts/build-image.sh makes with debootstrap.

Converge, converge again (0 changed), check mode with diff (0 changed), owners and modes of
the files, no secret in orthanc.json or in Ansible's output, the plugin loaded by Orthanc, and
the rollback of a configuration that Orthanc cannot start with."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.collection import BIN, ROOT, ansible_env, collections_path

pytestmark = [pytest.mark.real,
              pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")]

ADMIN_PW = "container-admin-pw-4e1d9"
CLIENT_SECRET = "container-client-secret-77b2"


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=300)


@pytest.fixture(scope="module")
def container():
    image = subprocess.run(["bash", str(ROOT / "scripts" / "build-image.sh")], capture_output=True, text=True,
                           check=True, timeout=900).stdout.strip().splitlines()[-1]
    name = f"dwo-site-{os.getpid()}"
    podman("rm", "-f", name, check=False)
    podman("run", "-d", "--name", name, "--hostname", "orthanc-1", "--runtime", "runc", "--systemd=always",
           "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=30000:30000", image, "/sbin/init")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = podman("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        yield name
    finally:
        podman("rm", "-f", name, check=False)


def inventory(tmp: Path, name: str, extra: dict | None = None) -> Path:
    host = {
        "ansible_connection": "containers.podman.podman",
        "ansible_host": name,
        "ansible_python_interpreter": "/usr/bin/python3",
        "orthanc_users": {"admin": ADMIN_PW},
        "orthanc_dicomweb_oauth": {
            "Servers": {"pacs": {"Url": "https://127.0.0.1:9443/dicom-web", "TokenEndpoint": "https://127.0.0.1:9444/token",
                                 "ClientId": "orthanc", "ClientSecret": CLIENT_SECRET}},
            "RateLimit": {"Requests": 10, "WindowSeconds": 60},
        },
        "orthanc_oauth_allow_private_hosts": ["127.0.0.1"],
        **(extra or {}),
    }
    inv = tmp / "inventory.json"
    inv.write_text(json.dumps({"orthanc": {"hosts": {"orthanc-1": host}}}))
    return inv


def site(tmp: Path, inv: Path, *args: str) -> tuple[int, str, int]:
    env = ansible_env(collections_path(tmp))
    env.pop("ANSIBLE_REMOTE_TEMP")  # the container's own /tmp, not a path of this machine
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), str(ROOT / "site.yml"), *args],
                          env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    m = re.search(r"orthanc-1\s*:\s*ok=\d+\s+changed=(\d+)", out)
    return proc.returncode, out, int(m.group(1)) if m else -1


def in_container(name: str, *cmd: str) -> str:
    return podman("exec", name, *cmd).stdout


def plugin_status(name: str) -> dict:
    code = ("import base64,json,urllib.request;"
            "r=urllib.request.Request('http://127.0.0.1:8042/dicomweb-oauth/status');"
            f"r.add_header('Authorization','Basic '+base64.b64encode(b'admin:{ADMIN_PW}').decode());"
            "print(urllib.request.urlopen(r,timeout=10).read().decode())")
    return json.loads(in_container(name, "python3", "-c", code))


@pytest.mark.timeout(1200)
def test_converge_idempotence_check_mode_and_rollback(tmp_path, container):
    inv = inventory(tmp_path, container)
    t0 = time.monotonic()
    rc, out1, changed = site(tmp_path, inv)
    first = time.monotonic() - t0
    assert rc == 0, out1[-4000:]
    assert changed > 5

    assert in_container(container, "systemctl", "is-active", "orthanc").strip() == "active"
    stat = in_container(container, "stat", "-c", "%n %U %G %a", "/etc/orthanc/orthanc.json", "/etc/orthanc/orthanc.env",
                        "/usr/lib/orthanc-dicomweb-oauth/dicomweb_oauth_plugin.py")
    assert "/etc/orthanc/orthanc.json root orthanc 640" in stat
    assert "/etc/orthanc/orthanc.env root orthanc 640" in stat
    assert "/usr/lib/orthanc-dicomweb-oauth/dicomweb_oauth_plugin.py root root 644" in stat
    config = in_container(container, "cat", "/etc/orthanc/orthanc.json")
    assert ADMIN_PW not in config and CLIENT_SECRET not in config
    assert json.loads(config)["DicomWebOAuth"]["Servers"]["pacs"]["ClientSecret"] == "${DWO_PACS_CLIENTSECRET}"
    world_readable = in_container(container, "find", "/etc/orthanc", "/usr/lib/orthanc-dicomweb-oauth",
                                  "-type", "f", "-perm", "-o=r")
    for f in world_readable.split():
        assert CLIENT_SECRET not in in_container(container, "cat", f), f

    status = plugin_status(container)  # Orthanc loaded the plugin with this configuration
    assert status["configuration_error"] is None and "pacs" in status["servers"]

    t0 = time.monotonic()
    rc, out2, changed = site(tmp_path, inv)
    second = time.monotonic() - t0
    assert rc == 0 and changed == 0, out2[-4000:]

    rc, out3, changed = site(tmp_path, inv, "--check", "--diff")
    assert rc == 0 and changed == 0, out3[-4000:]

    # A configuration the compiler accepts but Orthanc cannot start with: rolled back.
    bad = inventory(tmp_path, container, {"orthanc_extra_config": {"DicomModalities": "not-an-object"},
                                          "orthanc_config_health_timeout": 16})
    t0 = time.monotonic()
    rc, out4, _ = site(tmp_path, bad)
    rollback = time.monotonic() - t0
    assert rc != 0 and "the last good configuration was restored" in out4, out4[-4000:]
    assert in_container(container, "systemctl", "is-active", "orthanc").strip() == "active"
    assert in_container(container, "cat", "/etc/orthanc/orthanc.json") == config
    assert plugin_status(container)["servers"]["pacs"]

    # Orthanc's own HTTPS is refused in preflight (it crashes on Debian 12), nothing changed.
    rc, out5, changed = site(tmp_path, inventory(tmp_path, container, {"orthanc_ssl_enabled": True}))
    assert rc != 0 and changed == 0 and "built-in HTTPS crashes on Debian 12" in out5, out5[-3000:]
    assert in_container(container, "cat", "/etc/orthanc/orthanc.json") == config

    for out in (out1, out2, out3, out4, out5):
        assert ADMIN_PW not in out and CLIENT_SECRET not in out and "PRIVATE KEY" not in out
    print(f"\nfirst converge {first:.0f} s, second converge {second:.0f} s, rollback run {rollback:.0f} s")
