"""One token manager per configured server.

Reads are lock-free: the current token and the instant until which it may be handed out sit
in one tuple that is replaced whole. Acquisitions are single-flight (one request however many
callers), retried with backoff and jitter, guarded by a circuit breaker, optionally shared
across a cluster through Redis, and renewed by a background thread before expiry so that no
caller waits for the identity provider once the cache is warm."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Callable, Optional

from ..loader.config import PluginConfig, ServerConfig
from ..loader.errors import OAuthPluginError
from ..loader.redaction import CORRELATION_ID, REDACTOR, get_logger, kv, new_correlation_id
from .http import HttpClient
from .jwt_validation import JwtValidator, unverified_claims
from .metrics import Metrics
from .providers import make_provider
from .providers.base import Token
from .resilience import OPEN, STATE_NAMES, CircuitBreaker, RetryPolicy
from .shared_cache import SharedCache, SharedCacheDown, SharedCacheRejected

_log = get_logger()
_time = time.time

# A token is no longer handed out this close to its expiry (at most; 10 % of its lifetime for
# short-lived tokens), so a request that starts with it does not arrive with an expired one.
SAFETY_MARGIN_MAX = 5.0

# Why a token is acquired. PROBE is the background refresher testing a provider while the
# breaker is open: it bypasses the breaker (callers do not) and makes one request, no retries.
MISS, REFRESH, FORCE, PROBE = "miss", "refresh", "force", "probe"


def usable_until(tok: Token) -> float:
    return tok.expires_at - min(SAFETY_MARGIN_MAX, tok.lifetime * 0.1)


class TokenManager:
    def __init__(self, server: ServerConfig, metrics: Metrics,
                 shared: Optional[SharedCache] = None, http: Optional[HttpClient] = None,
                 retry: Optional[RetryPolicy] = None) -> None:
        self.server = server
        self.metrics = metrics
        self.shared = shared
        self.http = http or HttpClient(server.name, server.tls_verify, server.token_timeout,
                                       server.proxy, server.proxy_explicit)
        self.provider = make_provider(server, self.http)
        self.validator = (JwtValidator(server, self.http, getattr(self.provider, "discovery", None))
                          if server.jwt.enabled else None)
        self.retry = retry or RetryPolicy(server.resilience)
        n = server.name
        self._m_hit = metrics.cache_hits.labels(n)
        self._m_miss = metrics.cache_misses.labels(n)
        self._m_ok = metrics.acquisitions.labels(n, "success")
        self._m_fail = metrics.acquisitions.labels(n, "failure")
        self._m_duration = metrics.acquisition_duration.labels(n)
        self._m_expiry = metrics.expiry.labels(n)
        self._m_retries = metrics.retries.labels(n)
        self._m_breaker = metrics.breaker_state.labels(n)
        self._m_breaker.set(0)
        self.breaker = CircuitBreaker(server.resilience, on_change=self._on_breaker)

        self._token: Optional[Token] = None
        self._fast: Optional[tuple[str, float]] = None
        self._flight_lock = threading.Lock()
        self._inflight: Optional[concurrent.futures.Future[Token]] = None
        self._listeners: list[Callable[[Token], None]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None

        self.last_attempt_at: Optional[float] = None
        self.last_success_at: Optional[float] = None
        self.last_result: Optional[str] = None
        self.last_error: Optional[str] = None
        self.last_source: Optional[str] = None
        self.consecutive_failures = 0

    def __repr__(self) -> str:
        return f"TokenManager(server={self.server.name!r}, provider={self.server.provider_type!r})"

    # ---------------------------------------------------------------------------- reading
    def get_token(self) -> str:
        """The current access token, acquiring one first if there is none usable."""
        fast = self._fast
        if fast is not None and _time() < fast[1]:
            self._m_hit.inc()
            return fast[0]
        self._m_miss.inc()
        return self._acquire(MISS).value

    def current(self) -> Optional[Token]:
        return self._token

    def add_listener(self, fn: Callable[[Token], None]) -> None:
        """``fn(token)`` runs after every new token (the Orthanc layer updates the header)."""
        self._listeners.append(fn)

    # ---------------------------------------------------------------------------- acquiring
    def refresh_at(self, tok: Token) -> float:
        return tok.expires_at - min(self.server.refresh_buffer, tok.lifetime / 2)

    def _satisfied(self, reason: str, tok: Optional[Token]) -> bool:
        """Whether a token obtained meanwhile (by another caller) already answers ``reason``."""
        if tok is None or reason == FORCE:
            return False
        if reason == MISS:
            return _time() < usable_until(tok)
        return _time() < self.refresh_at(tok)  # REFRESH and PROBE

    def _wait_budget(self) -> float:
        r = self.server.resilience
        per_try = self.server.token_timeout + r.max_delay
        lock = self.shared.lock_timeout if self.shared else 0.0
        return per_try * (r.max_retries + 1) + lock + 5.0

    def _acquire(self, reason: str) -> Token:
        with self._flight_lock:
            tok = self._token
            if self._satisfied(reason, tok):
                assert tok is not None
                return tok
            fut = self._inflight
            leader = fut is None
            if fut is None:
                fut = self._inflight = concurrent.futures.Future()
        if leader:
            try:
                fut.set_result(self._obtain(reason))
            except BaseException as e:  # every waiter must be released, whatever happened
                fut.set_exception(e)
            finally:
                with self._flight_lock:
                    self._inflight = None
        try:
            return fut.result(timeout=self._wait_budget())
        except concurrent.futures.TimeoutError:
            raise OAuthPluginError("NET-002", "timed out waiting for the token acquisition in progress",
                                   server=self.server.name) from None

    def _obtain(self, reason: str) -> Token:
        if reason != FORCE or CORRELATION_ID.get() is None:
            new_correlation_id()  # one id per acquisition, unless a REST request already set one
        self.last_attempt_at = _time()
        if reason != PROBE and not self.breaker.allow():
            err = OAuthPluginError(
                "NET-006", f"circuit breaker open after {self.consecutive_failures} failed "
                f"acquisitions (last error {self.last_result}); the plugin probes the identity provider "
                "in the background and recovers on its first success", server=self.server.name)
            self._count_error(err)
            raise err
        start = time.monotonic()
        try:
            tok, source = self._from_shared_or_idp(reason)
        except OAuthPluginError as e:
            self._m_duration.observe(time.monotonic() - start)
            self.breaker.record_failure()
            self.consecutive_failures += 1
            self.last_result = e.code
            self.last_error = e.message
            self._count_error(e)
            _log.warning(kv("token.failed", server=self.server.name, code=e.code, error=e.message))
            raise
        except Exception as e:
            self.breaker.record_failure()
            self.consecutive_failures += 1
            err = OAuthPluginError("INT-001", f"{type(e).__name__} while acquiring a token",
                                   server=self.server.name)
            self.last_result, self.last_error = err.code, err.message
            self._count_error(err)
            _log.error(kv("token.failed", server=self.server.name, code=err.code, error=REDACTOR.redact(repr(e))))
            raise err from None
        duration = time.monotonic() - start
        if source == "idp":
            self._m_duration.observe(duration)
        else:
            self._m_hit.inc()  # answered by the shared cache, not the identity provider
        self.breaker.record_success()
        self.consecutive_failures = 0
        self.last_result, self.last_error, self.last_source = "ok", None, source
        self.last_success_at = _time()
        self._set_token(tok)
        _log.info(kv("token.acquired", server=self.server.name, source=source,
                     duration_ms=round(duration * 1000, 1), expires_in_s=round(tok.expires_at - _time())))
        return tok

    def _from_shared_or_idp(self, reason: str) -> tuple[Token, str]:
        shared = self.shared
        retries = 0 if reason == PROBE else self.retry.max_retries
        if shared is None:
            return self._from_idp(retries), "idp"
        try:
            if reason != FORCE:
                tok = self._shared_fresh()
                if tok is not None:
                    return tok, "shared"
            owner = shared.try_lock(self.server)
            if owner is not None:
                try:
                    tok = None if reason == FORCE else self._shared_fresh()
                    if tok is not None:
                        return tok, "shared"
                    tok = self._from_idp(retries)
                    self._share(tok)
                    return tok, "idp"
                finally:
                    shared.unlock(self.server, owner)
            # Another node is refreshing: wait for its token rather than asking too.
            deadline = time.monotonic() + shared.lock_timeout
            while time.monotonic() < deadline and not self._stop.is_set():
                time.sleep(0.05)
                tok = self._shared_fresh()
                if tok is not None:
                    return tok, "shared"
        except SharedCacheDown:
            self.metrics.shared_cache.labels(self.server.name, "unavailable").inc()
        tok = self._from_idp(retries)
        self._share(tok)
        return tok, "idp"

    def _share(self, tok: Token) -> None:
        assert self.shared is not None
        try:
            self.shared.put(self.server, tok)
            self.metrics.shared_cache.labels(self.server.name, "stored").inc()
        except SharedCacheDown:
            self.metrics.shared_cache.labels(self.server.name, "unavailable").inc()

    def _shared_fresh(self) -> Optional[Token]:
        """A token from Redis newer than ours and not yet due for refresh, else None."""
        assert self.shared is not None
        try:
            tok = self.shared.get(self.server)
        except SharedCacheRejected:
            err = OAuthPluginError("SEC-005", "shared token ignored: it does not authenticate "
                                   "under Cache.EncryptionKey", server=self.server.name)
            self._count_error(err)
            self.metrics.shared_cache.labels(self.server.name, "rejected").inc()
            _log.warning(kv("shared_cache.rejected", server=self.server.name, code=err.code))
            return None
        if tok is None or _time() >= self.refresh_at(tok):
            return None
        cur = self._token
        if cur is not None and tok.expires_at <= cur.expires_at:
            return None
        REDACTOR.add(tok.value)
        self.metrics.shared_cache.labels(self.server.name, "adopted").inc()
        return tok

    def _from_idp(self, retries: int) -> Token:
        attempt = 0
        while True:
            try:
                tok = self.provider.fetch()
            except OAuthPluginError as e:
                self._m_fail.inc()
                delay = None
                if e.retryable and attempt < retries and not self._stop.is_set():
                    delay = self.retry.delay(attempt, e.retry_after)
                if delay is None:
                    raise
                self._m_retries.inc()
                self._count_error(e)
                _log.info(kv("token.retry", server=self.server.name, code=e.code,
                             attempt=attempt + 1, delay_s=round(delay, 2)))
                self._stop.wait(delay)
                attempt += 1
                continue
            if self.validator is not None:
                try:
                    self.validator.validate(tok.value)
                except OAuthPluginError:
                    self._m_fail.inc()
                    raise
            self._m_ok.inc()
            return tok

    def _set_token(self, tok: Token) -> None:
        REDACTOR.add(tok.value)
        self._token = tok
        self._fast = (tok.value, usable_until(tok))
        self._m_expiry.set(tok.expires_at)
        self._wake.set()
        for fn in list(self._listeners):
            try:
                fn(tok)
            except Exception as e:  # a listener must not break token delivery
                _log.error(kv("token.listener_failed", server=self.server.name, code="INT-001",
                              error=type(e).__name__))

    def _count_error(self, err: OAuthPluginError) -> None:
        self.metrics.errors.labels(self.server.name, err.code).inc()

    def _on_breaker(self, state: int) -> None:
        self._m_breaker.set(state)
        _log.warning(kv("breaker.state", server=self.server.name, state=STATE_NAMES[state]))

    # ---------------------------------------------------------------------------- background
    def start(self) -> None:
        """Start the background refresher; it acquires the first token at once."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"oauth-refresh-{self.server.name}",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.http.close()

    def _reason(self, tok: Optional[Token]) -> str:
        """No usable token at all is a miss (first token, or after an outage); a token that is
        merely due is a refresh; with the breaker open, the refresher probes."""
        if self.breaker.enabled and self.breaker.state == OPEN:
            return PROBE
        if tok is None or _time() >= usable_until(tok):
            self._m_miss.inc()
            return MISS
        return REFRESH

    def _check_signing_key(self, tok: Token) -> float:
        """Replace the token at once if its signing key left the JWKS (a rotation without
        overlap: the remote server would refuse it from now on). Returns seconds to the next
        look."""
        assert self.validator is not None
        try:
            if self.validator.key_withdrawn(tok.value):
                _log.warning(kv("jwks.key_withdrawn", server=self.server.name,
                                action="replacing the token before its expiry"))
                self._acquire(FORCE)
        except OAuthPluginError as e:
            self._count_error(e)
            _log.warning(kv("jwks.check_failed", server=self.server.name, code=e.code, error=e.message))
        return self.validator.poll_interval()

    def _run(self) -> None:
        failures = probes = 0
        next_key_check = 0.0
        while not self._stop.is_set():
            tok = self._token
            wait = 0.0 if tok is None else self.refresh_at(tok) - _time()
            if wait > 0:
                if self.validator is not None and not self.server.jwt.public_key:
                    assert tok is not None
                    if time.monotonic() >= next_key_check:
                        next_key_check = time.monotonic() + self._check_signing_key(tok)
                        continue
                    wait = min(wait, next_key_check - time.monotonic())
                self._wake.wait(wait)
                self._wake.clear()
                continue
            try:
                self._acquire(self._reason(tok))
                failures = probes = 0
            except OAuthPluginError:
                failures += 1
                if self.breaker.state == OPEN:
                    # Probe on our own schedule rather than wait out the breaker: recovery
                    # within ProbeMaxDelaySeconds of the provider's return.
                    pause = self.retry.probe_delay(probes)
                    probes += 1
                else:
                    pause = self.retry.delay(min(failures - 1, 8)) or self.retry.backoff(8)
                if tok is not None and usable_until(tok) > _time():
                    # Never sleep past the moment the current token stops being usable.
                    pause = min(pause, max(0.05, usable_until(tok) - _time()))
                self._stop.wait(pause)
            except Exception as e:  # the refresher must survive anything
                _log.error(kv("refresher.error", server=self.server.name, code="INT-001",
                              error=type(e).__name__))
                self._stop.wait(1.0)

    # ---------------------------------------------------------------------------- reporting
    def status(self) -> dict[str, Any]:
        tok = self._token
        now = _time()
        return {
            "name": self.server.name,
            "provider": self.server.provider_type,
            "url": self.server.url,
            "has_token": tok is not None and now < tok.expires_at,
            "seconds_to_expiry": round(tok.expires_at - now, 1) if tok else None,
            "token_type": tok.token_type if tok else None,
            "scope": tok.scope if tok else None,
            "last_attempt": self.last_attempt_at,
            "last_success": self.last_success_at,
            "last_result": self.last_result,
            "last_error": self.last_error,
            "last_source": self.last_source,
            "consecutive_failures": self.consecutive_failures,
            "circuit_breaker": STATE_NAMES[self.breaker.state],
            "shared_cache": None if self.shared is None else ("down" if self.shared.is_down else "up"),
        }

    def test(self) -> dict[str, Any]:
        """Acquire a fresh token now and describe it (never the token itself)."""
        start = time.monotonic()
        tok = self._acquire(FORCE)
        claims = unverified_claims(tok.value) or {}
        aud = claims.get("aud")
        return {
            "server": self.server.name,
            "ok": True,
            "duration_ms": round((time.monotonic() - start) * 1000, 1),
            "expires_in": round(tok.expires_at - _time(), 1),
            "token_type": tok.token_type,
            "scope": tok.scope or claims.get("scope"),
            "jwt": bool(claims),
            "audience": aud,
            "issuer": claims.get("iss"),
        }


def build_managers(config: PluginConfig, metrics: Metrics) -> dict[str, TokenManager]:
    shared = SharedCache(config.cache) if config.cache.backend == "redis" else None
    return {name: TokenManager(s, metrics, shared) for name, s in config.servers.items()}
