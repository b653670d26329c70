"""OpenID Connect discovery (``/.well-known/openid-configuration``), fetched once and kept."""

from __future__ import annotations

import threading
from typing import Any, Optional

from ..loader.errors import OAuthPluginError
from .http import HttpClient


class Discovery:
    def __init__(self, issuer: str, http: HttpClient) -> None:
        self.issuer = issuer
        self.http = http
        self._doc: Optional[dict[str, Any]] = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def document(self) -> dict[str, Any]:
        with self._lock:
            if self._doc is None:
                doc = self.http.get_json(self.url, code="NET-007")
                # OpenID Connect Discovery 1.0 section 4.3: the issuer must match exactly.
                if doc.get("issuer", "").rstrip("/") != self.issuer.rstrip("/"):
                    raise OAuthPluginError(
                        "NET-007", f"discovery issuer {doc.get('issuer')!r} differs from Issuer",
                        server=self.http.server, key="Issuer")
                if not isinstance(doc.get("token_endpoint"), str):
                    raise OAuthPluginError("NET-007", "discovery document has no token_endpoint",
                                           server=self.http.server, key="Issuer")
                self._doc = doc
            return self._doc

    def token_endpoint(self) -> str:
        return str(self.document()["token_endpoint"])

    def jwks_uri(self) -> str:
        uri = self.document().get("jwks_uri")
        if not isinstance(uri, str):
            raise OAuthPluginError("NET-007", "discovery document has no jwks_uri",
                                   server=self.http.server, key="Issuer")
        return uri
