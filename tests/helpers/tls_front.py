"""The tls_front role's nginx.conf, rendered by Ansible's own template module from the role's
template, defaults and vars (this machine's release), and run by this machine's nginx on
loopback. Only the process paths differ from a host's file (PID file and logs in the test's
directory: the distribution's nginx may be running with its own)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from testenv.process import ManagedProcess, port_open
from tests.helpers.collection import ROOT, run_playbook

ROLE = ROOT / "roles" / "tls_front"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

PLAYBOOK = f"""
- name: Render the tls_front role's nginx.conf, checked by nginx -t as the role does
  hosts: localhost
  gather_facts: false
  vars_files:
    - {ROLE}/defaults/main.yml
    - {ROLE}/vars/main.yml
    - {ROLE}/vars/Debian-{{release}}.yml
  tasks:
    - name: nginx.conf
      ansible.builtin.template:
        src: {ROLE}/templates/nginx.conf.j2
        dest: "{{{{ out }}}}"
        mode: "0644"
        validate: nginx -t -q -c %s
"""


def debian_major() -> str:
    return Path("/etc/debian_version").read_text().split(".")[0].strip()


def render(tmp: Path, variables: dict[str, Any]) -> str:
    """The role's nginx.conf for these variables (after nginx -t accepted it)."""
    out = tmp / "nginx-role.conf"
    extra = tmp / "vars.json"
    extra.write_text(json.dumps({**variables, "out": str(out)}))
    proc = run_playbook(tmp, PLAYBOOK.replace("{release}", debian_major()), args=("-e", f"@{extra}"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return out.read_text()


class RoleFront:
    """nginx running the role's configuration on 127.0.0.1:port."""

    def __init__(self, tmp: Path, variables: dict[str, Any]) -> None:
        self.dir = tmp / "front"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = int(variables["tls_front_port"])
        self.text = render(tmp, variables)
        text = re.sub(r"(?m)^pid .*;$", f"pid {self.dir}/nginx.pid;", self.text)
        text = re.sub(r"(?m)^error_log .*;$", f"error_log {self.dir}/error.log;", text)
        text = re.sub(r"(?m)^(\s*)access_log .*;$", rf"\1access_log {self.dir}/access.log;", text)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(text)
        subprocess.run([NGINX, "-t", "-q", "-c", str(self.conf), "-e", str(self.dir / "error.log")], check=True)
        self.process = ManagedProcess("nginx-front", self.dir,
                                      [NGINX, "-c", str(self.conf), "-e", str(self.dir / "error.log"),
                                       "-g", "daemon off;"], ready=lambda: port_open(self.port))

    def __enter__(self) -> RoleFront:
        self.process.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.process.stop()
