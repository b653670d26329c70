# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The outbound proxy: one inventory variable, the plugin's Proxy and Orthanc's https_proxy, and
the route of each preflight probe, decided by the plugin's own proxy rules."""

from __future__ import annotations

import base64
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from . import plugin_loader
from .environment import ENV_RE, env_value, json_inner
from .findings import Finding
from .inputs import BY_NAME, Inputs

# Hosts that never go through the outbound proxy, for libcurl's no_proxy (the plugin sends
# loopback direct by itself).
ALWAYS_NO_PROXY = ("localhost", "127.0.0.1", "::1")

PROXY_KEYS = frozenset(BY_NAME["orthanc_outbound_proxy"].options)


def _proxy_input(inp: Inputs) -> Optional[dict[str, Any]]:
    """orthanc_outbound_proxy with its types checked, or None (unset or malformed)."""
    raw = inp.v["orthanc_outbound_proxy"]
    if raw in (None, {}):
        return None
    where, fix = "orthanc_outbound_proxy", "See roles/config/README.md (orthanc_outbound_proxy)."
    if not isinstance(raw, dict) or set(raw) - PROXY_KEYS or not isinstance(raw.get("url"), str):
        inp.bad(where, "must be a mapping with url and optionally username, password, no_proxy", fix)
        return None
    for key in ("username", "password"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            inp.bad(f"{where}.{key}", "must be a string", fix)
            return None
    if isinstance(raw.get("password"), str) and ENV_RE.match(raw["password"]):
        inp.bad(f"{where}.password", "cannot be a ${VAR}: Orthanc's proxy (https_proxy) needs it URL-encoded",
                "Give the value itself (from Vault); the compiler keeps it out of orthanc.json.")
        return None
    no_proxy = raw.get("no_proxy") or []
    if not isinstance(no_proxy, list) or not all(isinstance(h, str) and h.strip() for h in no_proxy):
        inp.bad(f"{where}.no_proxy", "must be a list of host names, addresses or CIDR ranges", fix)
        return None
    return {"Url": raw["url"], "Username": raw.get("username") or None, "Password": raw.get("password") or None,
            "NoProxy": [h.strip() for h in no_proxy]}


def _proxy_judged(inp: Inputs, proxy: dict[str, Any]) -> bool:
    """The plugin's own proxy rules on the inventory's proxy (one judge, with or without the
    plugin on this host); a refused proxy is never rendered."""
    try:
        errors = plugin_loader.proxy_errors({k: v for k, v in proxy.items() if v is not None},
                                            "orthanc_outbound_proxy")
    except ImportError as e:
        inp.bad("orthanc_outbound_proxy", f"the plugin's loader cannot be imported on the controller ({e.name or e})",
                plugin_loader.loader_fix(e))
        return False
    for err in errors:
        path = (err.key or "orthanc_outbound_proxy").replace(".Url", ".url").replace(".Username", ".username")
        inp.findings.append(Finding(err.code, "high", inp.host, path, err.detail, " ".join(err.spec.troubleshooting)))
    return not errors


def outbound_proxy(inp: Inputs, env: dict[str, str], secret_values: dict[str, str]) -> Optional[dict[str, Any]]:
    """The plugin's Proxy (password as ${VAR}), and the same proxy for Orthanc's libcurl through
    the service environment (https_proxy, http_proxy, no_proxy), never through HttpProxy: Orthanc
    logs HttpProxy, credentials included, when it starts with --verbose (measured on 1.10)."""
    proxy = _proxy_input(inp)
    if proxy is None or not _proxy_judged(inp, proxy):
        return None
    p = urlsplit(proxy["Url"])
    userinfo = ""
    plugin: dict[str, Any] = {"Url": proxy["Url"], "NoProxy": proxy["NoProxy"]}
    if proxy["Username"]:
        userinfo = quote(proxy["Username"], safe="")
        plugin["Username"] = proxy["Username"]
    password = proxy["Password"]
    if password:
        resolved = "{{" not in password  # a Vault lookup is resolved on the controller at run time
        env["DWO_PROXY_PASSWORD"] = json_inner(password)
        if resolved:
            secret_values["orthanc_outbound_proxy.password"] = password
        userinfo += ":" + (quote(password, safe="") if resolved else password)
        plugin["Password"] = "${DWO_PROXY_PASSWORD}"  # noqa: S105 - a reference, not a password
    netloc = f"{userinfo}@{p.netloc}" if userinfo else p.netloc
    env["https_proxy"] = env["http_proxy"] = f"{p.scheme}://{netloc}"
    env["no_proxy"] = ",".join(dict.fromkeys([*proxy["NoProxy"], *ALWAYS_NO_PROXY]))
    return plugin


def probe_route(url: str, proxy: Any, env: dict[str, str]) -> dict[str, Any]:
    if proxy is None:
        return {"environment": {}, "headers": {}}
    direct = {"environment": {"no_proxy": "*", "NO_PROXY": "*"}, "headers": {}}
    if not isinstance(proxy, dict) or plugin_loader.goes_direct(urlsplit(url).hostname or "", proxy.get("NoProxy", [])):
        return direct
    via = {k: proxy["Url"] for k in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")}
    headers = {}
    if proxy.get("Username"):
        password = env_value(proxy.get("Password"), env)
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(
            f"{proxy['Username']}:{password}".encode()).decode()
    return {"environment": {**via, "no_proxy": "", "NO_PROXY": ""}, "headers": headers}
