"""Generic OAuth2 client credentials grant (RFC 6749 section 4.4), with the token endpoint
configured or found by OpenID discovery. Keycloak, Okta and Auth0 need nothing more."""

from __future__ import annotations

import time
from typing import Optional
from urllib.parse import quote

import requests

from ...loader.config import ServerConfig
from ...loader.errors import OAuthPluginError
from ..discovery import Discovery
from ..http import HttpClient
from .base import Provider, Token


def _form_encode(value: str) -> str:
    # RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding.
    return quote(value, safe="").replace("%20", "+")


class GenericProvider(Provider):
    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        super().__init__(server, http)
        self.discovery: Optional[Discovery] = (
            Discovery(server.issuer, http) if server.issuer else None)

    def token_endpoint(self) -> str:
        if self.server.token_endpoint:
            return self.server.token_endpoint
        if self.discovery is None:
            raise OAuthPluginError("CFG-007", "no TokenEndpoint or Issuer", server=self.server.name)
        return self.discovery.token_endpoint()

    def form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if self.server.scope:
            form["scope"] = self.server.scope
        if self.server.audience:
            form["audience"] = self.server.audience
        if self.server.resource:
            form["resource"] = self.server.resource
        return form

    def fetch(self) -> Token:
        s = self.server
        assert s.client_id and s.client_secret
        form = self.form()
        auth = None
        if s.client_auth_method == "client_secret_post":
            form["client_id"] = s.client_id
            form["client_secret"] = s.client_secret.reveal()
        else:
            auth = requests.auth.HTTPBasicAuth(
                _form_encode(s.client_id), _form_encode(s.client_secret.reveal()))
        now = time.time()
        resp = self.http.request("POST", self.token_endpoint(), data=form, auth=auth,
                                 headers={"Accept": "application/json"})
        return self._token_from(resp, now)
