"""Debian's nginx as the TLS front of test services: one https port on loopback, a server
block per name (SNI), each proxied to a plain-http service on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from .process import ManagedProcess, free_port, port_open

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class TlsFront:
    def __init__(self, state_dir: Path, routes: Mapping[str, int], cert: str, key: str,
                 port: Optional[int] = None, name: str = "nginx") -> None:
        self.dir = Path(state_dir) / name
        self.routes = dict(routes)  # server name -> backend port on 127.0.0.1
        self.cert, self.key = cert, key
        self.port = port or free_port()
        self.conf = self.dir / "nginx.conf"
        self.process = ManagedProcess("nginx", self.dir, [NGINX, "-p", str(self.dir), "-e", str(self.dir / "error.log"),
                                                          "-c", str(self.conf)],
                                      ready=lambda: port_open(self.port))

    def url(self, name: str) -> str:
        return f"https://{name}:{self.port}"

    def _server(self, name: str, backend: int) -> str:
        return f"""
  server {{
    listen 127.0.0.1:{self.port} ssl;
    server_name {name};
    ssl_certificate {self.cert};
    ssl_certificate_key {self.key};
    location / {{
      proxy_pass http://127.0.0.1:{backend};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
    }}
  }}"""

    def start(self) -> TlsFront:
        self.dir.mkdir(parents=True, exist_ok=True)
        servers = "".join(self._server(n, p) for n, p in sorted(self.routes.items()))
        self.conf.write_text(f"""daemon off;
worker_processes 1;
pid {self.dir / 'nginx-master.pid'};
events {{ worker_connections 256; }}
http {{
  access_log {self.dir / 'access.log'};
  client_body_temp_path {self.dir / 'body'};
  proxy_temp_path {self.dir / 'proxy'};
  fastcgi_temp_path {self.dir / 'fastcgi'};
  uwsgi_temp_path {self.dir / 'uwsgi'};
  scgi_temp_path {self.dir / 'scgi'};
  client_max_body_size 0;
  proxy_request_buffering off;
  proxy_buffering off;
  proxy_read_timeout 300s;{servers}
}}
""")
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()
