"""Token providers: one module per way of obtaining a token."""

from __future__ import annotations

from ...loader.config import ServerConfig
from ..http import HttpClient
from .azure import AzureManagedIdentityProvider, AzureProvider
from .base import Provider, Token
from .generic import GenericProvider
from .google import GoogleMetadataProvider, GoogleServiceAccountProvider

__all__ = ["Provider", "Token", "make_provider"]

_BY_TYPE: dict[str, type[Provider]] = {
    "generic": GenericProvider,
    "azure": AzureProvider,
    "azure-managed-identity": AzureManagedIdentityProvider,
    "google": GoogleServiceAccountProvider,
    "google-metadata": GoogleMetadataProvider,
}


def make_provider(server: ServerConfig, http: HttpClient) -> Provider:
    return _BY_TYPE[server.provider_type](server, http)
