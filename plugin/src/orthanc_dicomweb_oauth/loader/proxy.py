"""The outbound HTTP proxy: which of the plugin's requests go through it, and whether the
plugin's route agrees with Orthanc's own ``HttpProxy`` (the DICOMweb data path).

Which hosts go direct follows libcurl's ``NO_PROXY`` rules, not requests' (which match any
suffix, so ``lan`` would also match ``evillan``): Orthanc's DICOMweb client is libcurl, and the
same list must route a host the same way in both. Loopback and cloud metadata endpoints never go
through a proxy.

Like ``config``, this module imports nothing that only the plugin's runtime needs: the config
compiler calls its checks on the controller."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from .addresses import canonical_host, classify_host, is_valid_host, parse_address
from .errors import OAuthPluginError
from .redaction import REDACTOR, Secret

ALWAYS_DIRECT = ("loopback", "a cloud metadata endpoint")
CURL_DEFAULT_PORT = 1080  # what libcurl assumes for a proxy written without a port


@dataclass(frozen=True)
class ProxyConfig:
    url: str
    username: Optional[str] = None
    password: Optional[Secret] = None
    no_proxy: tuple[str, ...] = ()

    def for_url(self, url: str) -> Optional[str]:
        """The proxy URL (with its credentials) for a request to ``url``; None: go direct."""
        host = urlsplit(url).hostname or ""
        if goes_direct(host, self.no_proxy):
            return None
        if not self.username:
            return self.url
        p = urlsplit(self.url)
        userinfo = quote(self.username, safe="")
        if self.password:
            encoded = quote(self.password.reveal(), safe="")
            REDACTOR.add(encoded)  # the encoded form of a secret is a secret too
            userinfo += ":" + encoded
        return f"{p.scheme}://{userinfo}@{p.netloc}{p.path}"


def goes_direct(host: str, no_proxy: Iterable[str]) -> bool:
    """libcurl's NO_PROXY match (``*``; a name and its subdomains, a leading dot ignored; an IP
    address or CIDR range for IP hosts), plus loopback and metadata endpoints always."""
    h = canonical_host(host.strip("[]"))
    if classify_host(h) in ALWAYS_DIRECT:
        return True
    ip = parse_address(h)
    for entry in no_proxy:
        e = entry.strip().lower()
        if e == "*":
            return True
        if ip is not None:
            if _in_network(ip, e):
                return True
            continue
        e = e.strip(".")
        if e and (h == e or h.endswith("." + e)):
            return True
    return False


def _in_network(ip: Any, entry: str) -> bool:
    try:
        return ip in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return False


def proxy_errors(proxy: dict[str, Any], key: str, server: Optional[str] = None) -> list[OAuthPluginError]:
    """A Proxy object the schema found well-formed: no credentials in its Url, a valid host and
    an explicit port, a password only with a user."""
    url = proxy["Url"]
    try:
        p = urlsplit(url)
        host, port = p.hostname or "", p.port
    except ValueError:
        return [OAuthPluginError("CFG-002", "is not a valid URL", server=server, key=f"{key}.Url")]
    errors = []
    shown = f"{p.scheme}://{host}" + (f":{port}" if port else "")  # never a path: a bad URL hides secrets there
    if p.username or p.password:
        errors.append(OAuthPluginError(
            "SEC-008", f"{shown} carries credentials in the proxy URL; give them apart: Proxy.Username "
            "and Proxy.Password through ${VAR} (the collection: orthanc_outbound_proxy.username and .password)",
            server=server, key=f"{key}.Url"))
    if not host or not is_valid_host(host):
        errors.append(OAuthPluginError("CFG-002", "has no valid host (write http://host:port)", server=server,
                                       key=f"{key}.Url"))
    elif port is None:
        errors.append(OAuthPluginError(
            "CFG-002", f"{shown} names no port; write it (libcurl, Orthanc's HTTP client, would "
            f"assume {CURL_DEFAULT_PORT} and the plugin 80)", server=server, key=f"{key}.Url"))
    if proxy.get("Password") and not proxy.get("Username"):
        errors.append(OAuthPluginError("CFG-002", "Password is set without Username", server=server,
                                       key=f"{key}.Username"))
    return errors


def build_proxy(raw: Any) -> Optional[ProxyConfig]:
    """A checked Proxy object, or None for none (absent, or ``false``: direct)."""
    if not isinstance(raw, dict):
        return None
    pw = raw.get("Password")
    return ProxyConfig(url=raw["Url"], username=raw.get("Username") or None, password=Secret(pw) if pw else None,
                       no_proxy=tuple(raw.get("NoProxy", ())))


# ---------------------------------------------------------------------------------------------
# The plugin's route against Orthanc's own


def orthanc_proxy_address(value: str) -> Optional[tuple[str, str, int]]:
    """(scheme, host, port) of Orthanc's ``HttpProxy`` read as libcurl reads it: the scheme is
    optional (http), so are credentials, and the port defaults to 1080. None when unset."""
    if not value.strip():
        return None
    text = value.strip() if "://" in value else "http://" + value.strip()
    try:
        p = urlsplit(text)
        port = p.port or CURL_DEFAULT_PORT
    except ValueError:
        return ("invalid", "", 0)  # never the value: it may carry a password
    return (p.scheme.lower(), canonical_host(p.hostname or ""), port)


def environment_proxy(environ: Mapping[str, str]) -> Optional[str]:
    """The proxy that libcurl and requests both take for an https URL from the environment."""
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        if environ.get(name):
            return environ[name]
    return None


def route_conflicts(full: dict[str, Any], environ: Mapping[str, str]) -> list[OAuthPluginError]:
    """CFG-010 when the plugin's token requests and Orthanc's DICOMweb traffic would leave by
    different proxies. Orthanc's libcurl takes HttpProxy, else the environment; the plugin takes
    DicomWebOAuth.Proxy, else the environment (a server's own Proxy is its choice)."""
    section = full.get("DicomWebOAuth")
    own = section.get("Proxy") if isinstance(section, dict) else None
    from_env = environment_proxy(environ)
    http_proxy = full.get("HttpProxy")
    theirs_text = http_proxy if isinstance(http_proxy, str) and http_proxy.strip() else from_env
    mine_text = own.get("Url") if isinstance(own, dict) and isinstance(own.get("Url"), str) else from_env
    theirs = orthanc_proxy_address(theirs_text) if theirs_text else None
    mine = orthanc_proxy_address(mine_text) if mine_text else None
    if theirs == mine:
        return []
    where = "Orthanc's HttpProxy" if theirs_text is http_proxy else "the https_proxy environment variable"
    if mine is None:
        text = (f"{where} sends DICOMweb traffic through a proxy but the plugin's token requests would go direct: "
                "set DicomWebOAuth.Proxy.Url to the same proxy")
    elif theirs is None:
        text = ("DicomWebOAuth.Proxy sends token requests through a proxy but Orthanc's DICOMweb traffic would go "
                "direct: give Orthanc the same proxy (HttpProxy, or https_proxy in its environment)")
    else:
        text = (f"the plugin's proxy ({mine[0]}://{mine[1]}:{mine[2]}) and {where} ({theirs[0]}://{theirs[1]}:"
                f"{theirs[2]}) differ; use one")
    return [OAuthPluginError("CFG-010", text, key="DicomWebOAuth.Proxy")]
