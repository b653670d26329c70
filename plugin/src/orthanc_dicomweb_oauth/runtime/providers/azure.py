"""Azure Entra ID: the v2.0 client credentials flow, and managed identity through the
instance metadata service (IMDS)."""

from __future__ import annotations

import time

from ...loader.config import ServerConfig
from ..http import HttpClient
from .base import Provider, Token
from .generic import GenericProvider

IMDS_URL = "http://169.254.169.254/metadata/identity/oauth2/token"
AUTHORITY = "https://login.microsoftonline.com"


class AzureProvider(GenericProvider):
    """Entra ID v2.0: ``scope=<resource>/.default`` (set by the config loader from Resource),
    secret in the form body (client_secret_post) unless configured otherwise."""

    def token_endpoint(self) -> str:
        if not self.server.token_endpoint and not self.server.issuer and self.server.tenant_id:
            return f"{AUTHORITY}/{self.server.tenant_id}/oauth2/v2.0/token"
        return super().token_endpoint()

    def form(self) -> dict[str, str]:
        form = super().form()
        form.pop("resource", None)  # v2.0 takes the resource inside the scope
        return form


class AzureManagedIdentityProvider(Provider):
    """GET on IMDS with ``Metadata: true``; answers expires_on as epoch seconds (a string)."""

    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        super().__init__(server, http)
        self.url = server.metadata_url or IMDS_URL

    def fetch(self) -> Token:
        params = {"api-version": "2018-02-01", "resource": self.server.resource or ""}
        if self.server.client_id:
            params["client_id"] = self.server.client_id
        now = time.time()
        resp = self.http.request("GET", self.url, params=params, headers={"Metadata": "true"})
        return self._token_from(resp, now)
