"""HTTP to identity providers: one place that maps transport failures and token-endpoint
answers to error codes, so every provider reports them the same way."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any, Optional

import requests

from ..loader.errors import OAuthPluginError
from ..loader.proxy import ProxyConfig
from ..loader.redaction import REDACTOR

USER_AGENT = "orthanc-dicomweb-oauth"


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpClient:
    """A requests session bound to one server's TLS and timeout settings."""

    def __init__(self, server: str, verify: bool | str = True, timeout: float = 10.0,
                 proxy: Optional[ProxyConfig] = None, proxy_explicit: bool = False) -> None:
        self.server = server
        self.verify = verify
        self.timeout = timeout
        self.proxy = proxy
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # Without a Proxy setting, requests follows HTTPS_PROXY/NO_PROXY from the environment,
        # as Orthanc's libcurl does without HttpProxy. With one, the setting alone decides, so
        # that the plugin and Orthanc cannot be routed apart by a stray variable.
        self.session.trust_env = not proxy_explicit

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", self.timeout)
        kw.setdefault("verify", self.verify)
        kw.setdefault("allow_redirects", False)
        if not self.session.trust_env:
            via = self.proxy.for_url(url) if self.proxy else None
            kw.setdefault("proxies", {"http": via, "https": via} if via else {})
        try:
            return self.session.request(method, url, **kw)
        except requests.exceptions.ProxyError as e:
            raise proxy_error(self.server, url, e) from None
        except requests.exceptions.SSLError as e:
            raise OAuthPluginError("NET-003", f"TLS error talking to {_host(url)}: {_reason(e)}",
                                   server=self.server, retryable=False) from None
        except requests.exceptions.Timeout:
            raise OAuthPluginError("NET-002", f"no answer from {_host(url)} within {self.timeout:g} s",
                                   server=self.server, retryable=True) from None
        except requests.exceptions.ConnectionError as e:
            raise OAuthPluginError("NET-001", f"cannot connect to {_host(url)}: {_reason(e)}",
                                   server=self.server, retryable=True) from None
        except requests.exceptions.RequestException as e:
            raise OAuthPluginError("NET-001", f"request to {_host(url)} failed: {type(e).__name__}",
                                   server=self.server, retryable=True) from None

    def get_json(self, url: str, code: str = "NET-007", **kw: Any) -> dict[str, Any]:
        resp = self.request("GET", url, **kw)
        if resp.status_code != 200:
            raise OAuthPluginError(code, f"GET {_host(url)}{_path(url)} answered HTTP {resp.status_code}",
                                   server=self.server, retryable=resp.status_code >= 500)
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise OAuthPluginError(code, f"GET {_host(url)}{_path(url)} did not answer a JSON object",
                                   server=self.server)
        return data


def proxy_error(server: str, url: str, e: Exception) -> OAuthPluginError:
    """NET-009 when the proxy wants other credentials (407), NET-010 when it refuses to carry
    the request, NET-008 when it cannot be reached. The proxy's answer to CONNECT is in the
    message http.client raised, "Tunnel connection failed: <status> <reason>"."""
    m = re.search(r"Tunnel connection failed: (\d{3})", str(e))
    status = int(m.group(1)) if m else None
    if status == 407:
        return OAuthPluginError("NET-009", f"the proxy refused its credentials (HTTP 407) for {_host(url)}",
                                server=server, key="Proxy.Username/Proxy.Password")
    if status is not None:
        return OAuthPluginError("NET-010", f"the proxy refused to connect to {_host(url)} (HTTP {status})",
                                server=server)
    return OAuthPluginError("NET-008", f"cannot reach the proxy for {_host(url)}: {_reason(e)}",
                            server=server, retryable=True)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc.rsplit('@', 1)[-1]}"


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def _reason(e: Exception) -> str:
    # requests nests the real cause; keep its class and a short, redacted text.
    text = str(e)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    # urllib3 nests reprs: drop the closing quotes and parentheses they leave behind.
    return REDACTOR.redact(text[:200].rstrip("')\""))


def token_error(server: str, resp: requests.Response) -> OAuthPluginError:
    """The error for a token endpoint answer other than 200."""
    status = resp.status_code
    if status == 429:
        ra = parse_retry_after(resp.headers.get("Retry-After"))
        return OAuthPluginError("NET-005", "token endpoint answered 429 Too Many Requests"
                                + (f" (Retry-After {ra:g} s)" if ra is not None else ""),
                                server=server, retryable=True, retry_after=ra)
    if status >= 500:
        ra = parse_retry_after(resp.headers.get("Retry-After"))
        return OAuthPluginError("NET-004", f"token endpoint answered HTTP {status}",
                                server=server, retryable=True, retry_after=ra)
    err = ""
    desc = ""
    try:
        body = resp.json()
        if isinstance(body, dict):
            err = str(body.get("error", ""))[:64]
            desc = str(body.get("error_description", ""))[:200]
    except ValueError:
        pass
    text = f"token endpoint answered HTTP {status}" + (f" {err}" if err else "") + (
        f": {REDACTOR.redact(desc)}" if desc else "")
    if err == "invalid_client" or (status == 401 and not err):
        return OAuthPluginError("AUTH-001", text, server=server, key="ClientId/ClientSecret")
    if err == "invalid_scope":
        return OAuthPluginError("AUTH-002", text, server=server, key="Scope")
    return OAuthPluginError("AUTH-003", text, server=server)


def parse_token_json(server: str, resp: requests.Response, now: float) -> Mapping[str, Any]:
    """Check a 200 token answer and normalise expiry to an absolute ``expires_at``."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise OAuthPluginError("TOK-001", "answer has no access_token", server=server)
    REDACTOR.add(body["access_token"])
    expires_at: Optional[float] = None
    try:
        if body.get("expires_in") is not None:
            expires_at = now + float(body["expires_in"])
        elif body.get("expires_on") is not None:  # Azure managed identity: epoch seconds
            expires_at = float(body["expires_on"])
    except (TypeError, ValueError):
        raise OAuthPluginError("TOK-001", "expires_in is not a number", server=server) from None
    if expires_at is None:
        # RFC 6749 makes expires_in optional; without it, be conservative.
        expires_at = now + 300.0
    if expires_at <= now:
        raise OAuthPluginError("TOK-001", "token is already expired on arrival", server=server)
    return {
        "access_token": body["access_token"],
        "token_type": str(body.get("token_type") or "Bearer"),
        "expires_at": expires_at,
        "scope": body.get("scope") if isinstance(body.get("scope"), str) else None,
    }
