"""Debian's redis-server on its own loopback port and directory."""

from __future__ import annotations

import shutil
import socket
import ssl
from pathlib import Path
from typing import Optional

from .process import ManagedProcess, free_port
from .tls import self_signed

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    def __init__(self, state_dir: Path, port: Optional[int] = None, password: Optional[str] = None,
                 tls: bool = False, name: str = "redis") -> None:
        self.state_dir = Path(state_dir) / name
        self.tls = tls
        self.ca_file: Optional[str] = None
        self.port = port or free_port()
        self.password = password
        conf = self.state_dir / "redis.conf"
        self.process = ManagedProcess("redis", self.state_dir, [REDIS_SERVER, str(conf)], ready=self.ping)

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def _write_conf(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            "bind 127.0.0.1",
            "protected-mode yes",
            f"port {0 if self.tls else self.port}",
            f"dir {self.state_dir}",
            "save ''",
            "appendonly no",
            "daemonize no",
            "loglevel warning",
        ]
        if self.password:
            lines.append(f"requirepass {self.password}")
        if self.tls:
            cert, key = self_signed(self.state_dir, "redis-tls")
            self.ca_file = cert
            lines += [f"tls-port {self.port}", f"tls-cert-file {cert}", f"tls-key-file {key}",
                      f"tls-ca-cert-file {cert}", "tls-auth-clients no"]
        conf = self.state_dir / "redis.conf"
        conf.write_text("\n".join(lines) + "\n")
        conf.chmod(0o600)
        return conf

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.3) as raw:
                s = raw
                if self.tls:
                    ctx = ssl.create_default_context(cafile=self.ca_file)
                    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
                cmd = b"PING\r\n" if not self.password else (
                    f"AUTH {self.password}\r\nPING\r\n".encode())
                s.sendall(cmd)
                return b"PONG" in s.recv(64) or b"PONG" in s.recv(64)
        except OSError:
            return False

    def start(self) -> RedisServer:
        self._write_conf()
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def running(self) -> bool:
        return self.process.running()
