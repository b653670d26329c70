"""Google Cloud: a service-account key signs a JWT assertion exchanged at Google's token
endpoint (RFC 7523 JWT bearer grant), or the metadata server hands out the VM's token."""

from __future__ import annotations

import json
import time

import jwt

from ...loader.config import ServerConfig
from ...loader.errors import OAuthPluginError
from ...loader.redaction import REDACTOR
from ..http import HttpClient
from .base import Provider, Token

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a password
HEALTHCARE_SCOPE = "https://www.googleapis.com/auth/cloud-healthcare"
METADATA_URL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600


class GoogleServiceAccountProvider(Provider):
    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        super().__init__(server, http)
        assert server.service_account_key is not None
        try:
            key = json.loads(server.service_account_key.reveal())
            self._email = str(key["client_email"])
            self._private_key = str(key["private_key"])
            self._key_id = key.get("private_key_id")
            self._token_uri = server.token_endpoint or key.get("token_uri") or GOOGLE_TOKEN_URI
        except (ValueError, KeyError, TypeError):
            raise OAuthPluginError(
                "CFG-009", "service-account key is not a JSON key with client_email and private_key",
                server=server.name, key="ServiceAccountKey") from None
        REDACTOR.add(self._private_key)

    def assertion(self, now: float) -> str:
        claims = {
            "iss": self._email,
            "scope": self.server.scope or HEALTHCARE_SCOPE,
            "aud": self._token_uri,
            "iat": int(now),
            "exp": int(now) + ASSERTION_LIFETIME,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        try:
            return jwt.encode(claims, self._private_key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError):
            raise OAuthPluginError("CFG-009", "service-account private_key is not a usable RSA key",
                                   server=self.server.name, key="ServiceAccountKey") from None

    def fetch(self) -> Token:
        now = time.time()
        resp = self.http.request("POST", self._token_uri,
                                 data={"grant_type": JWT_BEARER, "assertion": self.assertion(now)},
                                 headers={"Accept": "application/json"})
        return self._token_from(resp, now)


class GoogleMetadataProvider(Provider):
    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        super().__init__(server, http)
        self.url = server.metadata_url or METADATA_URL

    def fetch(self) -> Token:
        params = {"scopes": self.server.scope} if self.server.scope else None
        now = time.time()
        resp = self.http.request("GET", self.url, params=params,
                                 headers={"Metadata-Flavor": "Google"})
        return self._token_from(resp, now)
