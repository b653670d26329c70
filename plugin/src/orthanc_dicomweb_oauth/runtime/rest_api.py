"""The plugin's REST API under /dicomweb-oauth/, independent of Orthanc's objects so that it can
be tested on its own; ``orthanc_plugin`` adapts it to Orthanc's RestOutput.

Every answer is JSON (metrics excepted); every error carries a stable code; no answer ever
contains a token or a secret."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

from .. import API_VERSION, __version__
from ..loader.config import RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW, SERVER_NAME
from ..loader.errors import OAuthPluginError
from ..loader.redaction import REDACTOR, get_logger, kv, new_correlation_id
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

if TYPE_CHECKING:
    from ..loader.config import PluginConfig
    from .metrics import Metrics
    from .token_manager import TokenManager

_log = get_logger()
JSON = "application/json"
ROOT = "/dicomweb-oauth"


class Runtime(Protocol):
    """What the REST API reads of the running plugin (orthanc_plugin.PluginRuntime provides it;
    named here so that this module does not import the one that imports it)."""

    config: Optional[PluginConfig]
    error: Optional[OAuthPluginError]
    errors: list[OAuthPluginError]
    managers: dict[str, TokenManager]
    metrics: Metrics
    started_at: float

    def require_active(self) -> None:
        ...

    def is_published(self, name: str) -> bool:
        ...

    def overall_status(self) -> str:
        ...

    def server_status(self, name: str) -> dict[str, Any]:
        ...


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    allowed: Optional[str] = None  # for 405


def _json(status: int, data: Any) -> Response:
    return Response(status, json.dumps(data, indent=2, sort_keys=True).encode())


def error_response(err: OAuthPluginError, cid: str, headers: Optional[dict[str, str]] = None) -> Response:
    body = {"error": {**err.to_dict(), "correlation_id": cid}}
    r = _json(err.spec.http_status, body)
    r.headers.update(headers or {})
    return r


class RateLimiter:
    """A sliding window per key (server name): at most ``limit`` calls per ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> Optional[float]:
        """None if allowed (and counted), else seconds until the next call is allowed."""
        now = self._clock()
        with self._lock:
            q = self._calls.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                return max(0.0, q[0] + self.window - now)
            q.append(now)
            return None


class RestApi:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        cfg = runtime.config
        self.limiter = RateLimiter(cfg.rate_limit_requests if cfg else RATE_LIMIT_REQUESTS,
                                   cfg.rate_limit_window if cfg else RATE_LIMIT_WINDOW)

    # Routes: (regex for Orthanc, allowed methods, handler). A name is matched as printable
    # ASCII only: orthanc-python 4.0 cannot hand a URI that is not UTF-8 to Python and answers
    # 500 before any callback runs (measured), so such names are left to Orthanc's own 404.
    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        name = "([!-.0-~]{1,512})"
        return [
            (f"{ROOT}/status", "GET", self.status),
            (f"{ROOT}/servers", "GET", self.servers),
            (f"{ROOT}/servers/{name}", "GET", self.server),
            (f"{ROOT}/servers/{name}/test", "POST", self.test),
            (f"{ROOT}/metrics", "GET", self.metrics),
        ]

    def dispatch(self, allowed: str, handler: Callable[..., Response], method: str,
                 groups: tuple[str, ...]) -> Response:
        cid = new_correlation_id()
        try:
            if method != allowed:
                err = OAuthPluginError("INT-004", f"{method} is not allowed here; use {allowed}")
                r = error_response(err, cid)
                r.allowed = allowed
                _log.info(kv("rest.refused", code=err.code, method=method, allowed=allowed))
            else:
                r = handler(cid, *groups)
        except OAuthPluginError as e:
            r = error_response(e, cid)
        except Exception as e:  # the REST API must never take Orthanc's thread down
            _log.error(kv("rest.error", code="INT-001", error=REDACTOR.redact(repr(e))))
            r = error_response(OAuthPluginError("INT-001", f"{type(e).__name__} in the REST API"), cid)
        r.headers["X-Correlation-Id"] = cid
        r.headers.setdefault("Cache-Control", "no-store")
        return r

    # ---------------------------------------------------------------------- handlers
    def _manager(self, name: str) -> Any:
        self.rt.require_active()
        if not SERVER_NAME.fullmatch(name):
            raise OAuthPluginError("INT-003", f"not a server name: names match {SERVER_NAME.pattern}",
                                   key="DicomWebOAuth.Servers")
        m = self.rt.managers.get(name)
        if m is None:
            raise OAuthPluginError("INT-003", f"no server named '{name}'", key="DicomWebOAuth.Servers")
        return m

    def status(self, cid: str) -> Response:
        return _json(200, {
            "plugin_version": __version__,
            "api_version": API_VERSION,
            "uptime_seconds": round(time.time() - self.rt.started_at, 1),
            "status": self.rt.overall_status(),
            "configuration_error": self.rt.error.to_dict() if self.rt.error else None,
            "configuration_errors": [e.to_dict() for e in self.rt.errors],
            "warnings": list(self.rt.config.warnings) if self.rt.config else [],
            "cache_backend": self.rt.config.cache.backend if self.rt.config else None,
            "servers": {n: self.rt.server_status(n) for n in sorted(self.rt.managers)},
            "correlation_id": cid,
        })

    def servers(self, cid: str) -> Response:
        self.rt.require_active()
        return _json(200, [self.rt.server_status(n) for n in sorted(self.rt.managers)])

    def server(self, cid: str, name: str) -> Response:
        m = self._manager(name)
        s = m.server
        return _json(200, {
            **self.rt.server_status(name),
            "configuration": {
                "url": s.url, "provider": s.provider_type, "token_endpoint": s.token_endpoint,
                "issuer": s.issuer, "client_id": s.client_id, "client_auth_method": s.client_auth_method,
                "scope": s.scope, "audience": s.audience, "resource": s.resource,
                "verify_ssl": s.verify_ssl, "ca_bundle": s.ca_bundle,
                # Where the plugin's requests go: the proxy's address and user, never its password.
                "proxy": s.proxy.url if s.proxy else ("direct" if s.proxy_explicit else "environment"),
                "proxy_user": s.proxy.username if s.proxy else None,
                "token_refresh_buffer_seconds": s.refresh_buffer, "jwt_validation": s.jwt.enabled,
                "max_retries": s.resilience.max_retries,
                "circuit_breaker_threshold": s.resilience.breaker_threshold,
                "circuit_breaker_timeout_seconds": s.resilience.breaker_timeout,
            },
        })

    def test(self, cid: str, name: str) -> Response:
        m = self._manager(name)
        wait = self.limiter.check(name)
        if wait is not None:
            retry = max(1, int(wait + 0.999))
            err = OAuthPluginError("SEC-007", f"at most {self.limiter.limit} tests per "
                                   f"{self.limiter.window:g} s; retry in {retry} s", server=name)
            m.metrics.errors.labels(name, err.code).inc()
            return error_response(err, cid, {"Retry-After": str(retry)})
        _log.info(kv("rest.test", server=name))
        result = m.test()
        return _json(200, {**result, "published": self.rt.is_published(name), "correlation_id": cid})

    def metrics(self, cid: str) -> Response:
        return Response(200, self.rt.metrics.render(), METRICS_CONTENT_TYPE)
