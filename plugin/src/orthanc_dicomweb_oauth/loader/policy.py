"""Security policy on the values of the section that a schema cannot express: where URLs may
point, and where secrets may not hide (URL userinfo, query strings, static headers, RedisUrl).

Each check returns a list of ``OAuthPluginError`` instead of raising, so that the loader can
report every problem at once. No message repeats a URL's credentials, query or a header value."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Optional
from urllib.parse import SplitResult, parse_qsl, urlsplit

from .addresses import classify_host, host_key, is_valid_host
from .errors import OAuthPluginError

URL_KEYS = ("Url", "TokenEndpoint", "Issuer", "JwksUri", "MetadataUrl")
_SECRET_NAME = re.compile(r"secret|passw|pwd|token|api[-_]?key|apikey|key$|^key|signature|^sig$|assertion|"
                          r"credential|auth|cookie|session|code$", re.IGNORECASE)
ALWAYS_REFUSED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
METADATA = "a cloud metadata endpoint"


def _split(url: str) -> SplitResult:
    """urlsplit, and a ValueError for a port that is not a number from 0 to 65535 too."""
    parts = urlsplit(url)
    if parts.port is None and ":" in parts.netloc.rsplit("@", 1)[-1].rsplit("]", 1)[-1]:
        raise ValueError("empty port")
    return parts


def safe_url(url: str) -> str:
    """The URL without userinfo, query and fragment: what a message may show."""
    try:
        p = urlsplit(url)
        host = p.hostname or ""
        port = f":{p.port}" if p.port else ""
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{p.scheme}://{host}{port}" + ("/..." if "@" in p.path else p.path)


def _credentials_in_url(url: str, name: Optional[str], key: str, fix: str) -> list[OAuthPluginError]:
    p = urlsplit(url)
    out = []
    if p.username or p.password:
        out.append(OAuthPluginError("SEC-008", f"{safe_url(url)} carries credentials in the URL; {fix}",
                                    server=name, key=key))
    elif "@" in p.path:
        # user:1234/rest@host parses as host "user", port 1234 and a path that holds the rest of
        # a password: refused, and never shown.
        out.append(OAuthPluginError("SEC-008", f"{safe_url(url)} has an @ in its path, as credentials whose "
                                    f"password holds a / would; {fix}", server=name, key=key))
    secret_params = sorted({k for k, _v in parse_qsl(p.query, keep_blank_values=True) if _SECRET_NAME.search(k)})
    if secret_params:
        out.append(OAuthPluginError("SEC-008", f"{safe_url(url)} carries a secret in query parameter "
                                    f"{secret_params[0]}; {fix}", server=name, key=key))
    return out


def check_url(url: str, key: str, name: str, allowed: set[str]) -> list[OAuthPluginError]:
    """Credentials, host validity, private ranges (unless waived) and https."""
    path = f"DicomWebOAuth.Servers.{name}.{key}"
    try:
        p = _split(url)
        host = p.hostname or ""
    except ValueError:
        return [OAuthPluginError("CFG-002", "is not a valid URL", server=name, key=path)]
    errors = _credentials_in_url(url, name, path, "use ClientId and ClientSecret (the plugin authenticates) "
                                 "and remove credentials and secret parameters from URLs")
    if not host or not is_valid_host(host):
        return [*errors, OAuthPluginError("CFG-002", f"{safe_url(url)} has no valid host", server=name, key=path)]
    kind = classify_host(host)
    metadata_ok = key == "MetadataUrl" and kind == METADATA
    if kind and not metadata_ok and host_key(host) not in allowed:
        errors.append(OAuthPluginError(
            "SEC-009", f"host {host} is {kind}; if this is deliberate, list it in AllowPrivateHosts "
            "(the collection: orthanc_oauth_allow_private_hosts)", server=name, key=path))
    if p.scheme == "http" and kind != "loopback" and not metadata_ok:
        errors.append(OAuthPluginError("SEC-003", f"{safe_url(url)} uses plain http", server=name, key=path))
    return errors


def check_headers(headers: dict[str, Any], name: str) -> list[OAuthPluginError]:
    """Static headers are written in clear into Orthanc's server definition: no credentials."""
    path = f"DicomWebOAuth.Servers.{name}.HttpHeaders"
    out = []
    for header in sorted(headers):
        if header.lower() in ALWAYS_REFUSED_HEADERS or _SECRET_NAME.search(header):
            out.append(OAuthPluginError(
                "SEC-006", f"HttpHeaders must not carry credentials ({header}); the plugin's bearer token is "
                "the credential: remove the header", server=name, key=f"{path}.{header}"))
    return out


def check_redis_url(url: str) -> list[OAuthPluginError]:
    key = "DicomWebOAuth.Cache.RedisUrl"
    try:
        p = _split(url)
    except ValueError:
        return [OAuthPluginError("CFG-008", "RedisUrl is not a valid URL", key=key)]
    if p.password or any(k.lower() == "password" for k, _v in parse_qsl(p.query)):
        return [OAuthPluginError("SEC-008", f"{safe_url(url)} carries the Redis password; write it in "
                                 "Cache.RedisPassword (through ${VAR}) instead", key=key)]
    return []


def allowed_hosts(entries: Iterable[Any]) -> set[str]:
    return {host_key(str(e)) for e in entries}


def allowed_host_errors(entries: Iterable[Any], path: str) -> list[OAuthPluginError]:
    """Entries of AllowPrivateHosts that are not one host: a range (10.0.0.0/8) or a pattern (*)
    would match nothing (entries are compared host by host), so they are refused, not ignored."""
    out = []
    for i, entry in enumerate(entries):
        text = str(entry)
        if "/" in text or "*" in text or not is_valid_host(text.strip("[]")):
            out.append(OAuthPluginError(
                "CFG-002", f"entry {text!r} is not one host name or address: entries are single hosts (any "
                "spelling of an address matches, ranges and patterns match nothing); list each host",
                key=f"{path}[{i}]"))
    return out
