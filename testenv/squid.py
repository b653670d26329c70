"""Debian's squid as a hospital's outbound proxy: Basic authentication against a password file,
a deny list of destinations, an access log to read, and names resolved only from its own hosts
file (no DNS query leaves this machine)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Optional

from .process import ManagedProcess, free_port, port_open

SQUID = shutil.which("squid") or "/usr/sbin/squid"
NCSA_AUTH = "/usr/lib/squid/basic_ncsa_auth"
SQUID_USER = "proxy"  # Debian's squid drops to this user


class Squid:
    def __init__(self, state_dir: Path, listen: str = "127.0.0.1", port: Optional[int] = None,
                 users: Optional[Mapping[str, str]] = None, hosts: Optional[Mapping[str, str]] = None,
                 deny: Iterable[str] = (), name: str = "squid") -> None:
        self.dir = Path(state_dir) / name
        self.listen = listen
        self.port = port or free_port()
        self.users = dict(users or {})
        self.hosts = dict(hosts or {})
        self.deny = list(deny)
        self.conf = self.dir / "squid.conf"
        self.access_log = self.dir / "access.log"
        self.process = ManagedProcess("squid", self.dir, [SQUID, "-N", "-f", str(self.conf)],
                                      ready=lambda: port_open(self.port, self.listen))

    @property
    def url(self) -> str:
        """The proxy's address, without credentials."""
        return f"http://{self.listen}:{self.port}"

    def _password_file(self) -> Path:
        """htpasswd lines with SHA-512 crypt hashes; the passwords go to openssl on stdin, never argv."""
        lines = []
        for user, password in sorted(self.users.items()):
            hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, text=True,
                                    capture_output=True, check=True, timeout=30).stdout.strip()
            lines.append(f"{user}:{hashed}")
        f = self.dir / "passwd"
        f.write_text("\n".join(lines) + "\n")
        return f

    def _write_conf(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        hosts = self.dir / "hosts"
        hosts.write_text("".join(f"{ip} {name}\n" for name, ip in sorted(self.hosts.items())))
        lines = [
            f"http_port {self.listen}:{self.port}",
            "visible_hostname dwo-test-proxy",
            "pid_filename none",
            f"access_log stdio:{self.access_log}",
            f"cache_log {self.dir / 'cache.log'}",
            "cache_store_log none",
            "cache deny all",
            f"coredump_dir {self.dir}",
            "shutdown_lifetime 0 seconds",
            f"hosts_file {hosts}",
            "dns_nameservers 127.0.0.1",  # names not in hosts_file fail here, on this machine
        ]
        if self.deny:
            lines.append("acl refused dstdomain " + " ".join(self.deny))
            lines.append("http_access deny refused")
        if self.users:
            lines += [f"auth_param basic program {NCSA_AUTH} {self._password_file()}",
                      "auth_param basic realm dwo-test", "acl authenticated proxy_auth REQUIRED",
                      "http_access allow authenticated"]
        else:
            lines.append("http_access allow all")
        lines.append("http_access deny all")
        self.conf.write_text("\n".join(lines) + "\n")
        uid, gid = pwd.getpwnam(SQUID_USER).pw_uid, grp.getgrnam(SQUID_USER).gr_gid
        for f in (self.access_log, self.dir / "cache.log"):
            f.touch()
            os.chown(f, uid, gid)
        if self.users:
            os.chown(self.dir / "passwd", 0, gid)
            (self.dir / "passwd").chmod(0o640)

    def start(self) -> Squid:
        self._write_conf()
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def access_lines(self) -> list[str]:
        return self.access_log.read_text(errors="replace").splitlines() if self.access_log.exists() else []
