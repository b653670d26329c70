"""The circuit breaker and the retry and probe delays."""

from __future__ import annotations

import random

import pytest

from orthanc_dicomweb_oauth.loader.config import ResilienceConfig
from orthanc_dicomweb_oauth.runtime.resilience import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, RetryPolicy


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_breaker_cycle():
    clock = Clock()
    states = []
    b = CircuitBreaker(ResilienceConfig(breaker_threshold=3, breaker_timeout=10), clock, states.append)
    for _ in range(2):
        assert b.allow()
        b.record_failure()
    assert b.state == CLOSED
    b.record_failure()
    assert b.state == OPEN and not b.allow()
    clock.t = 9.9
    assert not b.allow()
    clock.t = 10
    assert b.allow()          # the one trial
    assert b.state == HALF_OPEN and not b.allow()
    b.record_failure()        # trial failed: open again
    assert b.state == OPEN and b.seconds_until_retry() == 10
    clock.t = 20
    assert b.allow()
    b.record_success()
    assert b.state == CLOSED and states == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


def test_breaker_disabled_never_opens():
    b = CircuitBreaker(ResilienceConfig(breaker_enabled=False, breaker_threshold=1))
    for _ in range(5):
        b.record_failure()
    assert b.allow() and b.state == CLOSED


@pytest.mark.parametrize("strategy,expected", [
    ("exponential", [1, 2, 4, 8, 10]), ("linear", [1, 3, 5, 7, 9]), ("fixed", [1, 1, 1, 1, 1])])
def test_retry_bounds(strategy, expected):
    p = RetryPolicy(ResilienceConfig(strategy=strategy, initial_delay=1, multiplier=2, max_delay=10))
    assert [p.backoff(i) for i in range(5)] == expected


def test_retry_jitter_and_retry_after():
    p = RetryPolicy(ResilienceConfig(initial_delay=1, multiplier=2, max_delay=10, max_retry_after=60),
                    random.Random(1))
    delays = [p.delay(2) for _ in range(200)]
    assert all(2 <= d <= 4 for d in delays) and len(set(delays)) > 100
    assert p.delay(0, retry_after=7) == 7
    assert p.delay(0, retry_after=61) is None


def test_probe_delay_grows_to_its_cap_with_jitter():
    p = RetryPolicy(ResilienceConfig(initial_delay=0.5, probe_max_delay=4.0), random.Random(7))
    delays = [p.probe_delay(n) for n in range(8)]
    bounds = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bounds)), delays
