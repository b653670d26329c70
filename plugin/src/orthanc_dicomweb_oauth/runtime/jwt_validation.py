"""Optional validation of acquired access tokens as JWTs (PyJWT), with the JWKS taken from
JwksUri or the issuer's discovery document and fetched again once when an unknown key id
appears (key rotation). The token manager also asks, every JwksPollSeconds, whether the key
that signed its current token has left the JWKS (a rotation without overlap), so that it can
replace the token before the remote server refuses it."""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Optional

import jwt

from ..loader.config import ServerConfig
from ..loader.errors import OAuthPluginError
from .discovery import Discovery
from .http import HttpClient

_REFETCH_MIN_INTERVAL = 10.0
MAX_POLL_INTERVAL = 300.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


class JwtValidator:
    def __init__(self, server: ServerConfig, http: HttpClient, discovery: Optional[Discovery]) -> None:
        self.server = server
        self.cfg = server.jwt
        self.http = http
        self.discovery = discovery
        self._jwks: Optional[jwt.PyJWKSet] = None
        self._fetched_at = 0.0
        self._validators: dict[str, str] = {}  # ETag / Last-Modified of the last JWKS answer
        self._max_age = 0.0
        self._lock = threading.Lock()

    def _jwks_uri(self) -> str:
        if self.cfg.jwks_uri:
            return self.cfg.jwks_uri
        if self.discovery is None:
            raise OAuthPluginError("TOK-005", "no JwksUri and no Issuer to discover it from",
                                   server=self.server.name, key="JwksUri")
        return self.discovery.jwks_uri()

    def _key_set(self, force: bool) -> jwt.PyJWKSet:
        with self._lock:
            stale = time.monotonic() - self._fetched_at > _REFETCH_MIN_INTERVAL
            if self._jwks is None or (force and stale):
                self._fetch()
            assert self._jwks is not None
            return self._jwks

    def _fetch(self) -> None:
        """GET the JWKS, conditionally when an earlier answer carried ETag or Last-Modified."""
        headers = {"If-None-Match": self._validators["etag"]} if "etag" in self._validators else {}
        if "last-modified" in self._validators:
            headers["If-Modified-Since"] = self._validators["last-modified"]
        resp = self.http.request("GET", self._jwks_uri(), headers=headers)
        self._fetched_at = time.monotonic()
        m = _MAX_AGE.search(resp.headers.get("Cache-Control", ""))
        self._max_age = float(m.group(1)) if m else 0.0
        if resp.status_code == 304 and self._jwks is not None:
            return
        if resp.status_code != 200:
            raise OAuthPluginError("TOK-005", f"JWKS answered HTTP {resp.status_code}", server=self.server.name,
                                   key="JwksUri", retryable=resp.status_code >= 500)
        try:
            self._jwks = jwt.PyJWKSet.from_dict(resp.json())  # type: ignore[no-untyped-call]
        except (ValueError, jwt.exceptions.PyJWKSetError):
            raise OAuthPluginError("TOK-005", "JWKS has no usable keys", server=self.server.name,
                                   key="JwksUri") from None
        self._validators = {k: v for k, v in (("etag", resp.headers.get("ETag")),
                                              ("last-modified", resp.headers.get("Last-Modified"))) if v}

    def poll_interval(self) -> float:
        """Seconds until the next look at the JWKS: JwksPollSeconds, or the answer's max-age
        when it asks for longer (capped)."""
        return min(MAX_POLL_INTERVAL, max(self.cfg.poll_seconds, self._max_age))

    def key_withdrawn(self, token: str) -> bool:
        """Whether the key that signed ``token`` is no longer in the JWKS, fetched again now.
        Always False for a fixed JWTPublicKey or a token without a key id."""
        if self.cfg.public_key:
            return False
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.exceptions.DecodeError:
            return False
        if kid is None:
            return False
        with self._lock:
            self._fetch()
            assert self._jwks is not None
            return all(k.key_id != kid for k in self._jwks.keys)

    def _key_for(self, token: str) -> Any:
        if self.cfg.public_key:
            return self.cfg.public_key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.exceptions.DecodeError:
            raise OAuthPluginError("TOK-004", "access token is not a JWT (opaque token?)",
                                   server=self.server.name, key="ValidateJWT") from None
        for force in (False, True):
            keys = self._key_set(force)
            for k in keys.keys:
                if kid is None or k.key_id == kid:
                    return k.key
        raise OAuthPluginError("TOK-003", "no key in the JWKS matches the token's key id",
                               server=self.server.name, key="JwksUri")

    def validate(self, token: str) -> dict[str, Any]:
        key = self._key_for(token)
        options = {"require": ["exp"], "verify_aud": self.cfg.audience is not None}
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=list(self.cfg.algorithms), audience=self.cfg.audience,
                issuer=self.cfg.issuer, options=options, leeway=30)
            return claims
        except jwt.exceptions.InvalidAudienceError:
            code, what = "TOK-002", "audience does not match JWTAudience"
        except jwt.exceptions.InvalidSignatureError:
            code, what = "TOK-003", "signature does not verify"
        except jwt.exceptions.InvalidIssuerError:
            code, what = "TOK-004", "issuer does not match JWTIssuer"
        except jwt.exceptions.ExpiredSignatureError:
            code, what = "TOK-004", "token is expired"
        except jwt.exceptions.InvalidAlgorithmError:
            code, what = "TOK-004", "algorithm not in JWTAlgorithms"
        except jwt.exceptions.PyJWTError as e:
            code, what = "TOK-004", f"invalid JWT ({type(e).__name__})"
        raise OAuthPluginError(code, what, server=self.server.name)


def unverified_claims(token: str) -> Optional[dict[str, Any]]:
    """Claims of a JWT without verification (for reporting audience/issuer), or None."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return claims
    except jwt.exceptions.PyJWTError:
        return None
