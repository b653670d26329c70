"""Refusals that depend on Orthanc's settings around the DicomWebOAuth section (the DicomWeb
plugin's own configuration). The plugin checks them at start; the config compiler calls the
same function on the configuration it renders."""

from __future__ import annotations

from typing import Any

from .errors import OAuthPluginError
from .legacy import legacy_proxy_server
from .policy import safe_url


def dicomweb_servers(full: dict[str, Any]) -> dict[str, str]:
    """Name -> URL of the servers in ``DicomWeb.Servers`` (list or object form)."""
    out = {}
    dicomweb = full.get("DicomWeb")
    servers = dicomweb.get("Servers") if isinstance(dicomweb, dict) else None
    if isinstance(servers, dict):
        for name, v in servers.items():
            if isinstance(v, list) and v:
                out[str(name)] = str(v[0])
            elif isinstance(v, dict):
                out[str(name)] = str(v.get("Url", ""))
    return out


def orthanc_conflicts(full: dict[str, Any], oauth_servers: list[str]) -> list[OAuthPluginError]:
    """Every conflict between Orthanc's configuration ``full`` and the plugin's servers."""
    errors = []
    static = dicomweb_servers(full)
    for name, url in sorted(static.items()):
        if legacy_proxy_server(url):
            errors.append(OAuthPluginError(
                "CFG-005", f"DicomWeb.Servers.{name}.Url is the older plugin's proxy path {safe_url(url)}; remove "
                f"DicomWeb.Servers.{name} and set DicomWebOAuth.Servers.{name}.Url to the real remote DICOMweb URL",
                server=name, key=f"DicomWeb.Servers.{name}.Url"))
    dicomweb = full.get("DicomWeb")
    if oauth_servers and isinstance(dicomweb, dict) and dicomweb.get("ServersInDatabase") is True:
        errors.append(OAuthPluginError(
            "SEC-002", "DicomWeb.ServersInDatabase is true: Orthanc would store the bearer tokens in plain text "
            "in its database", key="DicomWeb.ServersInDatabase"))
    for name in oauth_servers:
        if name in static:
            errors.append(OAuthPluginError("CFG-006", f"'{name}' is defined in DicomWeb.Servers too; remove it there",
                                           server=name, key=f"DicomWeb.Servers.{name}"))
    return errors
