"""Deploy-time benchmark (SPEC section 6): the full stack (site.yml with the demo inventory's
variables) on one fresh Debian host: first converge, no-op converge and check mode, each with
every task's time (ansible.posix.profile_tasks). Target: the no-op converge under 30 s.

The host is a fresh container of scripts/build-image.sh reached the way Ansible reaches a real
host: SSH with pipelining and a persistent connection (openssh-server is installed into it
before the first run, as every real Debian host has it). The same no-op converge is then run
through podman's connection (what molecule and make demo use: several `podman exec` per task,
no pipelining), the baseline that shows what the test harness's connection itself costs.

Run: ``make bench`` (or ``.venv/bin/python bench/deploy_time.py [--release trixie|bookworm]``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
NAME = "dwo-bench-deploy"
TASK_LINE = re.compile(r"^(?P<task>.+?) -+ (?P<secs>[0-9.]+)s$")
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+).*?failed=(\d+)")


@dataclass
class Run:
    label: str
    seconds: float
    ok: int
    changed: int
    failed: int
    tasks: list[tuple[str, float]]


def sh(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=900, **kw)  # type: ignore[call-overload]


def start_host(release: str, key: Path) -> str:
    """A fresh systemd container with sshd and our key; its address on podman's network."""
    image = sh(["bash", str(ROOT / "scripts" / "build-image.sh"), release]).stdout.strip().splitlines()[-1]
    subprocess.run(["podman", "rm", "-f", NAME], capture_output=True, timeout=120)
    sh(["podman", "run", "-d", "--name", NAME, "--hostname", NAME, "--runtime", "runc", "--systemd=always",
        "--cap-add", "SYS_ADMIN", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=30000:30000",
        image, "/sbin/init"])
    for _ in range(120):
        state = subprocess.run(["podman", "exec", NAME, "systemctl", "is-system-running"], capture_output=True,
                               text=True).stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(0.5)
    sh(["podman", "exec", NAME, "bash", "-c", "DEBIAN_FRONTEND=noninteractive apt-get update -q && "
        "apt-get install -y -q --no-install-recommends openssh-server && mkdir -p /root/.ssh && "
        "systemctl enable --now ssh"])
    sh(["podman", "exec", "-i", NAME, "bash", "-c", "cat > /root/.ssh/authorized_keys && chmod 600 "
        "/root/.ssh/authorized_keys"], input=Path(f"{key}.pub").read_text())
    address = sh(["podman", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", NAME]).stdout.strip()
    return address


def write_inventory(directory: Path, connection: dict[str, str]) -> Path:
    """The demo inventory's group variables for one host of every group, reached as given."""
    inv = directory / f"inventory-{connection['ansible_connection'].rsplit('.', 1)[-1]}"
    shutil.copytree(ROOT / "inventories" / "demo" / "group_vars", inv / "group_vars", dirs_exist_ok=True)
    host = {**connection, "demo_secrets_dir": str(directory / "secrets")}
    groups = {g: {"hosts": {NAME: None}} for g in ("orthanc", "demo_services", "monitoring")}
    (inv / "hosts.yml").write_text(json.dumps({"all": {"hosts": {NAME: host}, "children": groups}}))
    return inv


def play(label: str, inv: Path, env: dict[str, str], *extra: str) -> Run:
    t0 = time.perf_counter()
    out = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inv), str(ROOT / "site.yml"), *extra],
                         capture_output=True, text=True, env=env, timeout=1800)
    seconds = time.perf_counter() - t0
    recap = RECAP.search(out.stdout.split("PLAY RECAP", 1)[-1])
    if out.returncode != 0 or recap is None:
        raise RuntimeError(f"{label} failed:\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}")
    tasks = [(m["task"].strip(), float(m["secs"])) for line in out.stdout.split("=" * 20, 1)[-1].splitlines()
             if (m := TASK_LINE.match(line.strip()))]
    ok, changed, failed = (int(x) for x in recap.groups())
    return Run(label, seconds, ok, changed, failed, tasks)


def ansible_env(colls: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(colls), "ANSIBLE_HOST_KEY_CHECKING": "0", "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=/dev/null",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks", "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all",
        "ANSIBLE_NOCOLOR": "1", "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
    })
    return env


def report(runs: list[Run], release: str) -> None:
    print(f"deploy time: site.yml (demo inventory's variables) on one fresh Debian {release} host")
    for r in runs:
        print(f"  {r.label:52s} {r.seconds:6.1f} s  ({r.ok} ok, {r.changed} changed, {len(r.tasks)} tasks timed)")
    noop, podman = runs[1], runs[3]
    verdict = "met" if noop.seconds < 30 else "NOT met"
    print(f"  no-op converge over SSH: {noop.seconds:.1f} s, target < 30 s: {verdict}; "
          f"through podman exec {podman.seconds:.1f} s = {podman.seconds / noop.seconds:.1f}x (the harness's "
          "connection: several podman exec per task, no pipelining)")
    for r in runs[:3]:
        slow = sorted(r.tasks, key=lambda t: -t[1])[:8]
        print(f"  slowest tasks of the {r.label}: " + "; ".join(f"{name} {secs:.2f} s" for name, secs in slow))
    share = sum(s for _, s in noop.tasks)
    print(f"  no-op over SSH: {len(noop.tasks)} tasks sum to {share:.1f} s; the rest ({noop.seconds - share:.1f} s) "
          "is Ansible's start, inventory and templating on the controller")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--release", default="trixie", choices=["trixie", "bookworm"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dwo-deploy-") as tmp:
        d = Path(tmp)
        colls = d / "collections"
        (colls / "ansible_collections" / "dicomweb_oauth").mkdir(parents=True)
        (colls / "ansible_collections" / "dicomweb_oauth" / "orthanc").symlink_to(ROOT)
        key = d / "id_ed25519"
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
        try:
            address = start_host(args.release, key)
            ssh = write_inventory(d, {"ansible_connection": "ssh", "ansible_host": address, "ansible_user": "root",
                                      "ansible_ssh_private_key_file": str(key),
                                      "ansible_python_interpreter": "/usr/bin/python3"})
            podman = write_inventory(d, {"ansible_connection": "containers.podman.podman",
                                         "ansible_python_interpreter": "/usr/bin/python3"})
            env = ansible_env(colls)
            runs = [play("first converge", ssh, env), play("no-op converge", ssh, env),
                    play("check mode", ssh, env, "--check"),
                    play("no-op converge through podman's connection", podman, env)]
            for r in runs[1:]:
                assert r.changed == 0, f"{r.label}: {r.changed} changed"
            report(runs, args.release)
        finally:
            subprocess.run(["podman", "rm", "-f", NAME], capture_output=True, timeout=120)


if __name__ == "__main__":
    main()
