"""Refusals that depend on Orthanc's settings around the DicomWebOAuth section (the DicomWeb
plugin's own configuration). The plugin checks them at start; the config compiler calls the
same function on the configuration it renders."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Optional

from .config import SECTION, PluginConfig, check_config
from .errors import OAuthPluginError
from .legacy import legacy_proxy_server
from .policy import safe_url
from .proxy import route_conflicts


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


def orthanc_conflicts(full: dict[str, Any], oauth_servers: list[str],
                      environ: Optional[Mapping[str, str]] = None) -> list[OAuthPluginError]:
    """Every conflict between Orthanc's configuration ``full`` (and the service's environment:
    the process's own unless given) and the plugin's servers."""
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
    errors += route_conflicts(full, os.environ if environ is None else environ)
    for name in oauth_servers:
        if name in static:
            errors.append(OAuthPluginError("CFG-006", f"'{name}' is defined in DicomWeb.Servers too; remove it there",
                                           server=name, key=f"DicomWeb.Servers.{name}"))
    return errors


def judge(full: dict[str, Any], environ: Optional[Mapping[str, str]] = None, *, defer: bool = False,
          host_files: bool = True, service_environ: Optional[Mapping[str, str]] = None
          ) -> tuple[Optional[PluginConfig], list[OAuthPluginError]]:
    """The verdict on a whole Orthanc configuration: the section (``check_config``) and its
    conflicts with the settings around it, every error of both. The plugin calls it at start,
    the config compiler on what it renders: one judge."""
    section = full.get(SECTION)
    cfg, errors = check_config(section, environ, defer=defer, host_files=host_files)
    servers = section.get("Servers") if isinstance(section, dict) else None
    errors += orthanc_conflicts(full, [str(n) for n in servers] if isinstance(servers, dict) else [],
                                service_environ if service_environ is not None else environ)
    return (None, errors) if errors else (cfg, [])
