"""Retry delays with jitter and a per-server circuit breaker."""

from __future__ import annotations

import random
import threading
import time
from typing import Callable, Optional

from ..loader.config import ResilienceConfig

CLOSED, OPEN, HALF_OPEN = 0, 1, 2
STATE_NAMES = {CLOSED: "closed", OPEN: "open", HALF_OPEN: "half-open"}


class RetryPolicy:
    def __init__(self, cfg: ResilienceConfig, rng: Optional[random.Random] = None) -> None:
        self.cfg = cfg
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    @property
    def max_retries(self) -> int:
        return self.cfg.max_retries

    def backoff(self, attempt: int) -> float:
        """Upper bound of the delay before retry number ``attempt`` (0-based)."""
        c = self.cfg
        if c.strategy == "fixed":
            base = c.initial_delay
        elif c.strategy == "linear":
            base = c.initial_delay + c.multiplier * attempt
        else:
            base = c.initial_delay * (c.multiplier ** attempt)
        return min(c.max_delay, base)

    def probe_delay(self, probe: int) -> float:
        """Seconds before background probe number ``probe`` (0-based) while the breaker is open:
        exponential from RetryInitialDelaySeconds, capped at ProbeMaxDelaySeconds, equal jitter.
        One request per probe, so a provider that is down sees a trickle, not a burst."""
        bound = min(self.cfg.probe_max_delay, self.cfg.initial_delay * 2.0 ** min(probe, 16))
        return bound / 2 + self._rng.uniform(0, bound / 2)

    def delay(self, attempt: int, retry_after: Optional[float] = None) -> Optional[float]:
        """Seconds to sleep before the next try, or None if the server asked for a wait
        longer than MaxRetryAfterSeconds. Jitter: uniform in [bound/2, bound] ("equal
        jitter"), so that nodes spread out but never hammer back immediately."""
        bound = self.backoff(attempt)
        d = bound / 2 + self._rng.uniform(0, bound / 2)
        if retry_after is not None:
            if retry_after > self.cfg.max_retry_after:
                return None
            d = max(d, retry_after)
        return d


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failed acquisitions; after ``timeout`` seconds one
    trial is let through (half-open); its success closes, its failure re-opens."""

    def __init__(self, cfg: ResilienceConfig, clock: Callable[[], float] = time.monotonic,
                 on_change: Optional[Callable[[int], None]] = None) -> None:
        self.enabled = cfg.breaker_enabled
        self.threshold = cfg.breaker_threshold
        self.timeout = cfg.breaker_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False
        self._on_change = on_change

    @property
    def state(self) -> int:
        with self._lock:
            self._maybe_half_open()
            return self._state

    def seconds_until_retry(self) -> float:
        with self._lock:
            if self._state != OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.timeout - self._clock())

    def _set(self, state: int) -> None:
        if state != self._state:
            self._state = state
            if self._on_change:
                self._on_change(state)

    def _maybe_half_open(self) -> None:
        if self._state == OPEN and self._clock() - self._opened_at >= self.timeout:
            self._set(HALF_OPEN)
            self._trial_running = False

    def allow(self) -> bool:
        if not self.enabled:
            return True
        with self._lock:
            self._maybe_half_open()
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._trial_running = False
            self._set(CLOSED)

    def record_failure(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._failures += 1
            self._trial_running = False
            if self._state == HALF_OPEN or self._failures >= self.threshold:
                self._opened_at = self._clock()
                self._set(OPEN)
