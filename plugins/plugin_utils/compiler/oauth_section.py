# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DicomWebOAuth section: client secrets to files, other secrets to the environment, the
private hosts the inventory allows, the rate limit written out; then the plugin's own loader
judges it (one judge)."""

from __future__ import annotations

import copy
from typing import Any, Optional

from . import plugin_loader
from .environment import ENV_RE, as_orthanc_reads_it, env_name, move_secret
from .findings import Finding
from .inputs import Inputs


def _secret_to_file(srv: dict[str, Any], sname: str, directory: str, files: dict[str, str],
                    secret_values: dict[str, str]) -> None:
    """A server's ClientSecret becomes a ClientSecretFile in ``directory`` (not for the
    operator's own ${VAR}, nor a value that is not a string: the judge reports that)."""
    value = srv.get("ClientSecret")
    if not isinstance(value, str) or ENV_RE.match(value) or "ClientSecretFile" in srv:
        return
    path = f"{directory.rstrip('/')}/{sname}.client-secret"
    files[path] = value
    if "{{" not in value:
        secret_values[f"DicomWebOAuth.Servers.{sname}.ClientSecret"] = value
    del srv["ClientSecret"]
    srv["ClientSecretFile"] = path


def _drop_unused_secrets(inp: Inputs, srv: dict[str, Any], sname: str) -> None:
    """A secret the server's provider never reads (a ClientSecret for a Google service account) is
    left out of what the compiler writes - no file, no environment entry - with the plugin's own
    warning for it (the plugin would say the same of the key)."""
    secrets = set(plugin_loader.secret_keys("server")) | {"ClientSecretFile", "ServiceAccountKeyFile"}
    for key, note in plugin_loader.unused_notes(sname, srv).items():
        if key in secrets:
            del srv[key]
            inp.notes.append(note)


def oauth_section(inp: Inputs, env: dict[str, str], secret_values: dict[str, str], files: dict[str, str],
                  allowed: list[str], proxy: Optional[dict[str, Any]] = None) -> Optional[dict[str, Any]]:
    """The DicomWebOAuth section with its client secrets moved to files and its other secrets to
    the environment, the private hosts the inventory allows, and the REST API's rate limit written
    out."""
    raw = inp.v["orthanc_dicomweb_oauth"]
    if raw is None:
        return None
    if not isinstance(raw, dict):
        inp.bad("orthanc_dicomweb_oauth", "must be a mapping (the DicomWebOAuth section)", "See docs/configuration.md.")
        return None
    section = copy.deepcopy(raw)
    servers = section.get("Servers")
    for sname, srv in sorted(servers.items()) if isinstance(servers, dict) else ():
        if isinstance(srv, dict):
            _drop_unused_secrets(inp, srv, str(sname))
            _secret_to_file(srv, str(sname), inp.path("orthanc_secrets_directory"), files, secret_values)
        for key in plugin_loader.secret_keys("server") if isinstance(srv, dict) else ():
            move_secret(srv, key, env_name("DWO", sname, key), env, secret_values,
                        f"DicomWebOAuth.Servers.{sname}.{key}")
    cache = section.get("Cache")
    if isinstance(cache, dict):
        for key in plugin_loader.secret_keys("cache"):
            move_secret(cache, key, env_name("DWO_CACHE", key), env, secret_values, f"DicomWebOAuth.Cache.{key}")
    _proxy_secrets(section, env, secret_values)
    if proxy is not None:
        if "Proxy" in section:
            inp.bad("orthanc_dicomweb_oauth.Proxy", "is set while orthanc_outbound_proxy is set too",
                    "Set the proxy once, in orthanc_outbound_proxy: it gives the plugin and Orthanc the same proxy.")
        else:
            section["Proxy"] = proxy
    own = section.get("AllowPrivateHosts", [])
    if allowed and isinstance(own, list) and all(isinstance(h, str) for h in own):
        section["AllowPrivateHosts"] = sorted(set(own) | set(allowed))
    if not {"RateLimit", "RateLimitRequests", "RateLimitWindowSeconds"} & set(section):
        section["RateLimit"] = plugin_loader.rate_limit_defaults()  # so that orthanc.json states the limit
    return section


def _proxy_secrets(section: dict[str, Any], env: dict[str, str], secret_values: dict[str, str]) -> None:
    """A password written in the section's own Proxy objects moves to the environment too."""
    holders = [("DWO_PROXY", section.get("Proxy"), "DicomWebOAuth.Proxy")]
    servers = section.get("Servers")
    for sname, srv in sorted(servers.items()) if isinstance(servers, dict) else ():
        if isinstance(srv, dict):
            holders.append((f"DWO_{sname}_PROXY", srv.get("Proxy"), f"DicomWebOAuth.Servers.{sname}.Proxy"))
    for prefix, holder, where in holders:
        if isinstance(holder, dict):
            for key in plugin_loader.secret_keys("proxy"):
                move_secret(holder, key, env_name(prefix, key), env, secret_values, f"{where}.{key}")


def judge_section(host: str, rendered: str, env: dict[str, str]) -> tuple[list[Finding], list[str]]:
    """The plugin's own loader on the section, as Orthanc will hand it over; files and unknown
    variables are left to the host."""
    try:
        pcfg, errors = plugin_loader.judge(as_orthanc_reads_it(rendered, env), env)
    except ImportError as e:
        return [Finding("INPUT", "high", host, "DicomWebOAuth", f"the plugin's loader cannot be imported on the "
                        f"controller ({e.name or e})", plugin_loader.loader_fix(e))], []
    findings = [Finding(e.code, "high", host, e.key or "DicomWebOAuth",
                        (f"server '{e.server}': " if e.server else "") + e.detail, " ".join(e.spec.troubleshooting))
                for e in errors]
    return findings, list(pcfg.warnings) if pcfg is not None else []
