"""The test OpenID provider: npm ``oidc-provider`` run by ``idp/server.mjs`` on loopback."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any, Optional

from .process import ManagedProcess, free_port

IDP_DIR = Path(__file__).resolve().parent / "idp"
NODE = shutil.which("node") or "/usr/bin/node"

# Clients every test environment has. The secrets are test-only values, never real ones.
DEFAULT_CLIENTS = [
    {"client_id": "orthanc", "client_secret": "test-secret-basic-9f2c7d41",
     "token_endpoint_auth_method": "client_secret_basic", "scope": "dicom.read dicom.write"},
    {"client_id": "orthanc-post", "client_secret": "test-secret-post-5be80a13",
     "token_endpoint_auth_method": "client_secret_post", "scope": "dicom.read dicom.write"},
    {"client_id": "orthanc-2", "client_secret": "test-secret-node2-77ad3e90",
     "token_endpoint_auth_method": "client_secret_basic", "scope": "dicom.read dicom.write"},
]
DICOM_RESOURCE = "https://dicom.test/"
DEFAULT_RESOURCES = {
    DICOM_RESOURCE: {"scope": "dicom.read dicom.write admin", "format": "jwt"},
    "urn:dicom:opaque": {"scope": "dicom.read dicom.write", "format": "opaque"},
    "https://other.test/": {"scope": "dicom.read", "format": "jwt"},
}


class IdentityProvider:
    def __init__(self, state_dir: Path, port: Optional[int] = None, ttl: int = 300,
                 clients: Optional[list[dict[str, Any]]] = None, public_issuer: Optional[str] = None) -> None:
        self.state_dir = Path(state_dir) / "idp"
        # Behind a TLS front (testenv.nginx): the issuer clients see; tests still reach the
        # admin routes at the loopback address.
        self.public_issuer = public_issuer
        self.port = port or free_port()
        self.ttl = ttl
        self.clients = clients or DEFAULT_CLIENTS
        self.config_file = self.state_dir / "idp.json"
        self.process = ManagedProcess("idp", self.state_dir, [NODE, str(IDP_DIR / "server.mjs"),
                                                              "--config", str(self.config_file)],
                                      ready=self._ready, cwd=IDP_DIR)

    # -- addresses ------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.public_issuer or self.base

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def local_jwks_uri(self) -> str:
        return f"{self.base}/jwks"

    def client(self, client_id: str) -> dict[str, Any]:
        return next(c for c in self.clients if c["client_id"] == client_id)

    # -- lifecycle ------------------------------------------------------------------------------
    def _ready(self) -> bool:
        try:
            self._get("/.well-known/openid-configuration")
            return True
        except OSError:
            return False

    def start(self) -> IdentityProvider:
        if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(f"run 'npm ci' in {IDP_DIR} first (make deps does it)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(json.dumps({
            "host": "127.0.0.1", "port": self.port, "issuer": self.issuer, "ttl": self.ttl,
            "clients": self.clients, "resources": DEFAULT_RESOURCES,
            "default_resource": DICOM_RESOURCE, "trust_proxy": self.public_issuer is not None,
        }, indent=1))
        self.config_file.chmod(0o600)
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def running(self) -> bool:
        return self.process.running()

    # -- admin ----------------------------------------------------------------------------------
    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=5) as r:
            return json.loads(r.read())

    def _post(self, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        req = urllib.request.Request(self.base + path, data=json.dumps(body or {}).encode(),
                                     headers={"content-type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self._get("/__admin/stats")
        return data

    def token_requests(self, client_id: Optional[str] = None) -> int:
        s = self.stats()
        return int(s["by_client"].get(client_id, 0) if client_id else s["token_requests"])

    def reset(self) -> None:
        self._post("/__admin/reset")

    def fail_with(self, status: int = 500, retry_after: Optional[str] = None,
                  count: Optional[int] = None, error: Optional[str] = None) -> None:
        body: dict[str, Any] = {"mode": "status", "status": status}
        if retry_after is not None:
            body["retry_after"] = retry_after
        if count is not None:
            body["count"] = count
        if error is not None:
            body["error"] = error
        self._post("/__admin/fault", body)

    def hang(self, seconds: float, count: Optional[int] = None) -> None:
        body: dict[str, Any] = {"mode": "hang", "hang_seconds": seconds}
        if count is not None:
            body["count"] = count
        self._post("/__admin/fault", body)

    def heal(self) -> None:
        self._post("/__admin/fault", {"mode": "none"})

    def set_ttl(self, ttl: int) -> None:
        self.ttl = ttl
        self._post("/__admin/ttl", {"ttl": ttl})

    def rotate_key(self, overlap: bool = False) -> str:
        """A new signing key; the old one leaves the JWKS at once, or stays in it (``overlap``)."""
        return str(self._post("/__admin/rotate-key", {"overlap": overlap})["kid"])

    def set_client_secrets(self, client_id: str, secrets: list[tuple[str, str]]) -> None:
        """The (label, secret) pairs ``client_id`` may authenticate with, the first registered;
        a secret left out stops working (revoked)."""
        self._post("/__admin/client-secrets", {"client_id": client_id,
                                               "secrets": [{"label": k, "secret": v} for k, v in secrets]})

    def secrets_seen(self, client_id: str) -> list[str]:
        """The label of the secret of each token request of ``client_id``, oldest first."""
        return [str(e.get("secret")) for e in self.stats()["events"] if e.get("client_id") == client_id]
