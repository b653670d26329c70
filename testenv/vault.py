"""A small server that speaks the parts of HashiCorp Vault's HTTP API the vault_kv lookup uses.

No Vault server can be installed on these machines, so tests run the lookup against this, and
run the same tests against a real Vault when VAULT_ADDR is set. What it covers, as documented
by Vault's HTTP API:

- ``GET /v1/sys/health`` (200, or 503 when sealed);
- token authentication: ``X-Vault-Token``; ``GET /v1/auth/token/lookup-self``;
- AppRole: ``POST /v1/auth/<mount>/login`` with ``role_id``/``secret_id`` -> ``auth.client_token``;
  a wrong pair is 400 ``invalid role or secret ID``;
- KV v2: ``GET /v1/<mount>/data/<path>[?version=N]`` -> ``data.data`` and ``data.metadata``;
- KV v1: ``GET /v1/<mount>/<path>`` -> ``data``;
- namespaces: ``X-Vault-Namespace`` selects a separate set of secrets and tokens;
- errors as Vault sends them: 403 ``permission denied`` (unknown token, or path outside the
  token's policy prefixes), 404 ``{"errors": []}``, 503 ``Vault is sealed`` on every route;
- optional TLS with a certificate made at start (``ca_file`` for the client).

Not covered: leases, renewals, other engines and auth methods, policies beyond path prefixes,
response wrapping, metadata endpoints, writing secrets over HTTP."""

from __future__ import annotations

import datetime
import json
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from .tls import self_signed


@dataclass
class Namespace:
    kv2: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (mount, path) -> versions
    kv1: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # token -> allowed path prefixes
    approles: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # role_id -> (secret_id, prefixes)


class FakeVault:
    def __init__(self, tls_dir: Optional[Path] = None) -> None:
        self.namespaces: dict[str, Namespace] = {"": Namespace()}
        self.sealed = False
        self.requests: list[dict[str, Any]] = []
        self.ca_file: Optional[str] = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer._handle(self, "GET")

            def do_POST(self) -> None:
                outer._handle(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls_dir is not None:
            cert, key = self_signed(Path(tls_dir))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.ca_file = cert
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # -- set-up ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def ns(self, name: str = "") -> Namespace:
        return self.namespaces.setdefault(name.strip("/"), Namespace())

    def put_kv2(self, mount: str, path: str, data: dict[str, Any], namespace: str = "") -> None:
        self.ns(namespace).kv2.setdefault((mount, path), []).append(dict(data))

    def put_kv1(self, mount: str, path: str, data: dict[str, Any], namespace: str = "") -> None:
        self.ns(namespace).kv1[(mount, path)] = dict(data)

    def add_token(self, prefixes: list[str], namespace: str = "") -> str:
        token = "hvs." + secrets.token_urlsafe(18)
        self.ns(namespace).tokens[token] = prefixes
        return token

    def add_approle(self, prefixes: list[str], namespace: str = "") -> tuple[str, str]:
        role_id, secret_id = secrets.token_hex(8), secrets.token_hex(16)
        self.ns(namespace).approles[role_id] = (secret_id, prefixes)
        return role_id, secret_id

    def __enter__(self) -> FakeVault:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- HTTP -----------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        body = h.rfile.read(int(h.headers.get("content-length") or 0))
        namespace = (h.headers.get("X-Vault-Namespace") or "").strip("/")
        token = h.headers.get("X-Vault-Token") or ""
        self.requests.append({"method": method, "path": parts.path, "namespace": namespace})
        status, answer = self._route(method, parts.path, parse_qs(parts.query), body, namespace, token)
        data = json.dumps(answer).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes, namespace: str,
               token: str) -> tuple[int, dict[str, Any]]:
        if path == "/v1/sys/health":
            return (503 if self.sealed else 200), {"initialized": True, "sealed": self.sealed, "standby": False}
        if self.sealed:
            return 503, {"errors": ["Vault is sealed"]}
        ns = self.ns(namespace)
        if method == "POST" and path.startswith("/v1/auth/") and path.endswith("/login"):
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                return 400, {"errors": ["failed to parse JSON input"]}
            role = ns.approles.get(str(req.get("role_id", "")))
            if role is None or role[0] != req.get("secret_id"):
                return 400, {"errors": ["invalid role or secret ID"]}
            client_token = self.add_token(role[1], namespace)
            return 200, {"auth": {"client_token": client_token, "policies": ["default"], "lease_duration": 3600,
                                  "renewable": True, "accessor": secrets.token_hex(8)}}
        prefixes = ns.tokens.get(token)
        if prefixes is None:
            return 403, {"errors": ["permission denied"]}
        if path == "/v1/auth/token/lookup-self":
            return 200, {"data": {"policies": ["default"], "ttl": 3600, "renewable": True}}
        if method != "GET" or not path.startswith("/v1/"):
            return 405, {"errors": ["unsupported operation"]}
        rest = path[len("/v1/"):]
        mount, _, sub = rest.partition("/")
        if sub.startswith("data/") and self._is_kv2_mount(ns, mount):
            secret_path = sub[len("data/"):]
            if not any(f"{mount}/{secret_path}".startswith(p) for p in prefixes):
                return 403, {"errors": ["permission denied"]}
            versions = ns.kv2.get((mount, secret_path))
            if not versions:
                return 404, {"errors": []}
            v = int(query.get("version", ["0"])[0] or 0) or len(versions)
            if not 1 <= v <= len(versions):
                return 404, {"errors": []}
            created = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).isoformat()
            return 200, {"data": {"data": versions[v - 1], "metadata": {
                "created_time": created, "deletion_time": "", "destroyed": False, "version": v}}}
        if not any(rest.startswith(p) for p in prefixes):
            return 403, {"errors": ["permission denied"]}
        data = ns.kv1.get((mount, sub))
        if data is None:
            return 404, {"errors": []}
        return 200, {"data": data, "lease_duration": 2764800, "renewable": False}

    @staticmethod
    def _is_kv2_mount(ns: Namespace, mount: str) -> bool:
        return any(m == mount for m, _ in ns.kv2) or not any(m == mount for m, _ in ns.kv1)
