"""Unit tests of the small pieces: breaker, retry delays, sealing, redaction, detection, errors."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from orthanc_dicomweb_oauth import errors
from orthanc_dicomweb_oauth.config import ResilienceConfig
from orthanc_dicomweb_oauth.crypto import SealError, TokenSeal
from orthanc_dicomweb_oauth.http import parse_retry_after
from orthanc_dicomweb_oauth.provider_detect import detect_provider
from orthanc_dicomweb_oauth.redaction import REDACTOR, Secret, get_logger
from orthanc_dicomweb_oauth.resilience import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, RetryPolicy

ROOT = Path(__file__).resolve().parents[2]


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


def test_parse_retry_after():
    assert parse_retry_after("3") == 3
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_seal_round_trip_and_tamper():
    s = TokenSeal(b"k" * 32)
    blob = s.seal({"v": "tok"}, "ctx-a")
    assert b"tok" not in blob
    assert s.open(blob, "ctx-a") == {"v": "tok"}
    with pytest.raises(SealError):
        s.open(blob, "ctx-b")  # moved to another server's key
    with pytest.raises(SealError):
        TokenSeal(b"x" * 32).open(blob, "ctx-a")
    tampered = blob[:-3] + (b"AAA" if blob[-3:] != b"AAA" else b"BBB")
    with pytest.raises(SealError):
        s.open(tampered, "ctx-a")


def test_secret_hidden_and_redacted(caplog):
    s = Secret("my-very-secret-value")
    assert "my-very" not in repr(s) + str(s) + f"{s}"
    with pytest.raises(TypeError):
        __import__("pickle").dumps(s)
    caplog.set_level(logging.INFO, logger="orthanc_dicomweb_oauth")
    get_logger().info("echo %s and Bearer abcdefghijklmnop and eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln",
                      "my-very-secret-value")
    assert "my-very-secret-value" not in caplog.text
    assert "abcdefghijklmnop" not in caplog.text and "eyJzdWIi" not in caplog.text
    assert REDACTOR.redact('{"access_token": "zzz-123"}') == '{"access_token": "***"}'


def test_probe_delay_grows_to_its_cap_with_jitter():
    from orthanc_dicomweb_oauth.config import ResilienceConfig
    from orthanc_dicomweb_oauth.resilience import RetryPolicy

    p = RetryPolicy(ResilienceConfig(initial_delay=0.5, probe_max_delay=4.0), random.Random(7))
    delays = [p.probe_delay(n) for n in range(8)]
    bounds = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bounds)), delays


@pytest.mark.parametrize("url,expected", [
    ("https://login.microsoftonline.com/t/oauth2/v2.0/token", "azure"),
    ("https://LOGIN.microsoftonline.com./t/oauth2/v2.0/token", "azure"),
    ("https://oauth2.googleapis.com/token", "google"),
    ("https://login.microsoftonline.com.evil.example/token", "generic"),
    ("https://evil.example/login.microsoftonline.com/token", "generic"),
    ("https://login.microsoftonline.com@evil.example/token", "generic"),
    ("https://user@login.microsoftonline.com/token", "generic"),
    ("https://notoauth2.googleapis.com/token", "generic"),
    ("http://oauth2.googleapis.com/token", "generic"),
    ("https://keycloak.example.org/realms/r/protocol/openid-connect/token", "generic"),
    ("not a url", "generic"), (None, "generic"),
])
def test_detection_by_exact_host(url, expected):
    assert detect_provider(url) == expected


def test_every_code_documented_and_families():
    for code, spec in errors.ERRORS.items():
        assert code.split("-")[0] in {"CFG", "SEC", "AUTH", "TOK", "NET", "INT"}
        assert spec.troubleshooting and spec.title
    with pytest.raises(ValueError):
        errors.OAuthPluginError("XYZ-1", "x")


def test_every_code_raised_somewhere_is_defined():
    import re

    src = "\n".join(p.read_text() for p in (ROOT / "plugin" / "src").rglob("*.py"))
    used = set(re.findall(r'"((?:CFG|SEC|AUTH|TOK|NET|INT)-\d{3})"', src))
    assert used <= set(errors.ERRORS)
