"""The token manager against the real OpenID provider (npm oidc-provider) and real Redis."""

from __future__ import annotations

import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from orthanc_dicomweb_oauth.loader.errors import OAuthPluginError
from orthanc_dicomweb_oauth.runtime.metrics import Metrics
from orthanc_dicomweb_oauth.runtime.token_manager import TokenManager, build_managers
from tests.conftest import report
from tests.helpers.config import metric_value, plugin_config

pytestmark = pytest.mark.real


def manager(idp, redis_url=None, metrics=None, **extra) -> TokenManager:
    cfg = plugin_config(idp, redis_url=redis_url, **extra)
    return build_managers(cfg, metrics or Metrics())["remote"]


def test_200_concurrent_cold_callers_make_one_token_request(idp):
    m = manager(idp)
    barrier = threading.Barrier(200)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def call():
        barrier.wait()
        try:
            tokens.append(m.get_token())
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(tokens) == 200 and len(set(tokens)) == 1
    assert idp.token_requests() == 1
    assert metric_value(m.metrics, "dicomweb_oauth_token_acquisitions_total", server="remote", status="success") == 1
    # Callers that arrive after the token is in place are hits, the others waited on the one
    # acquisition; how many of each depends on thread scheduling.
    misses = metric_value(m.metrics, "dicomweb_oauth_cache_misses_total", server="remote")
    hits = metric_value(m.metrics, "dicomweb_oauth_cache_hits_total", server="remote")
    assert misses >= 1 and misses + hits == 200
    assert m.get_token() == tokens[0]
    assert metric_value(m.metrics, "dicomweb_oauth_cache_hits_total", server="remote") == hits + 1


def test_basic_and_post_client_authentication(idp):
    """Each client authenticates the way it is configured (header vs form body): the provider
    records which one arrived. (oidc-provider itself accepts either for a secret client.)"""
    for client in ("orthanc", "orthanc-post"):
        tok = manager(idp, client_id=client).get_token()
        assert jwt.decode(tok, options={"verify_signature": False})["client_id"] == client
    events = idp.stats()["events"]
    assert [(e["client_id"], e["auth"], e["status"]) for e in events] == [
        ("orthanc", "basic", 200), ("orthanc-post", "body", 200)]


def test_invalid_client_secret_not_retried(idp):
    m = manager(idp, ClientSecret="definitely-wrong-secret")
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert e.value.code == "AUTH-001"
    assert idp.token_requests() == 1
    assert metric_value(m.metrics, "dicomweb_oauth_errors_total", server="remote", code="AUTH-001") == 1
    assert metric_value(m.metrics, "dicomweb_oauth_retries_total", server="remote") == 0


def test_invalid_scope_not_retried(idp):
    m = manager(idp, Scope="admin")  # the resource has it, the client may not ask for it
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert e.value.code == "AUTH-002"
    assert idp.token_requests() == 1


def test_short_lifetime_never_expired_never_waiting(idp):
    """5 s tokens for 16 s: every token handed out is unexpired, and after the first one no
    caller ever waits for the identity provider (the refresh runs in the background)."""
    idp.set_ttl(5)
    m = manager(idp)
    m.start()
    try:
        m.get_token()  # warm-up
        warm_misses = metric_value(m.metrics, "dicomweb_oauth_cache_misses_total", server="remote")
        stop = time.monotonic() + 16
        worst = 0.0
        seen: set[str] = set()
        calls = 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            tok = m.get_token()
            worst = max(worst, time.perf_counter() - t0)
            claims = jwt.decode(tok, options={"verify_signature": False})
            assert claims["exp"] > time.time(), "an expired token was handed out"
            seen.add(tok)
            calls += 1
            time.sleep(0.01)
        misses = metric_value(m.metrics, "dicomweb_oauth_cache_misses_total", server="remote") - warm_misses
        assert misses == 0, "a caller had to wait for an acquisition after warm-up"
        assert worst < 0.05
        assert len(seen) >= 5  # refreshed at least every ~2.5 s
        assert idp.token_requests() == len(seen)
        assert calls > 500
    finally:
        m.stop()


def test_server_errors_retry_then_breaker_opens_then_recovers(idp):
    m = manager(idp)
    idp.fail_with(500)
    for _ in range(2):  # threshold 2
        with pytest.raises(OAuthPluginError) as e:
            m.get_token()
        assert e.value.code == "NET-004"
    assert idp.token_requests() == 2 * 3  # 1 + MaxRetries(2) each
    assert metric_value(m.metrics, "dicomweb_oauth_retries_total", server="remote") == 4
    assert metric_value(m.metrics, "dicomweb_oauth_circuit_breaker_state", server="remote") == 1
    assert m.status()["circuit_breaker"] == "open"

    t0 = time.perf_counter()
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert time.perf_counter() - t0 < 0.05
    assert e.value.code == "NET-006"
    assert idp.token_requests() == 6  # failing fast: no request at all

    idp.heal()
    time.sleep(2.1)  # one breaker timeout
    assert m.get_token()
    assert m.status()["circuit_breaker"] == "closed"
    assert metric_value(m.metrics, "dicomweb_oauth_circuit_breaker_state", server="remote") == 0


def test_background_refresher_recovers_after_outage_without_restart(idp):
    idp.set_ttl(6)
    m = manager(idp)
    m.start()
    try:
        m.get_token()
        idp.stop()  # the provider process is gone: connection refused
        time.sleep(6.5)
        with pytest.raises(OAuthPluginError) as e:
            m.get_token()
        assert e.value.code in ("NET-001", "NET-006")
        idp.start()
        deadline = time.monotonic() + 2 + 3  # breaker timeout + a margin
        while time.monotonic() < deadline and not m.status()["has_token"]:
            time.sleep(0.1)
        assert m.status()["has_token"], "no recovery within one breaker timeout"
        assert m.get_token()
    finally:
        m.stop()


def test_recovery_within_seconds_of_the_providers_return_without_hammering(idp):
    """A 12 s outage with a 60 s breaker timeout: the refresher probes on its own schedule (one
    request each, at most ProbeMaxDelaySeconds apart) instead of waiting out the breaker."""
    idp.set_ttl(6)
    m = manager(idp, Resilience={"MaxRetries": 1, "RetryInitialDelaySeconds": 0.2, "RetryMaxDelaySeconds": 0.5,
                                 "CircuitBreakerThreshold": 2, "CircuitBreakerTimeoutSeconds": 60,
                                 "ProbeMaxDelaySeconds": 2})
    m.start()
    try:
        first = m.get_token()
        before = idp.token_requests()
        idp.fail_with(503)
        time.sleep(12)
        assert m.status()["circuit_breaker"] == "open" and not m.status()["has_token"]
        t0 = time.perf_counter()
        with pytest.raises(OAuthPluginError) as e:
            m.get_token()  # callers fail fast meanwhile
        assert e.value.code == "NET-006" and time.perf_counter() - t0 < 0.05
        outage_requests = idp.token_requests() - before
        idp.heal()
        healed = time.monotonic()
        while not m.status()["has_token"] and time.monotonic() - healed < 10:
            time.sleep(0.05)
        recovery = time.monotonic() - healed
        report(f"recovery {recovery:.2f} s after the provider's return; {outage_requests} token requests "
              "during a 12 s outage")
        assert recovery <= 2.5, recovery  # ProbeMaxDelaySeconds 2, plus one request
        assert m.get_token() != first and m.status()["circuit_breaker"] == "closed"
        # Before the breaker opened: 2 acquisitions x (1 + MaxRetries 1); then one request per
        # probe, at least ~1 s apart once the backoff reached its cap: a trickle, not a burst.
        assert 4 <= outage_requests <= 4 + 14, outage_requests
    finally:
        m.stop()


def test_retry_after_is_honoured(idp):
    m = manager(idp)
    idp.fail_with(429, retry_after="2", count=1)
    t0 = time.monotonic()
    assert m.get_token()
    assert time.monotonic() - t0 >= 2.0
    events = idp.stats()["events"]
    assert [e["status"] for e in events] == [429, 200]
    assert events[1]["t"] - events[0]["t"] >= 2.0


def test_retry_after_longer_than_allowed_fails_at_once(idp):
    m = manager(idp, Resilience={"MaxRetries": 3, "MaxRetryAfterSeconds": 5})
    idp.fail_with(429, retry_after="3600")
    t0 = time.monotonic()
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert e.value.code == "NET-005"
    assert time.monotonic() - t0 < 1
    assert idp.token_requests() == 1


def test_hanging_provider_times_out(idp):
    m = manager(idp, TokenTimeoutSeconds=0.5, Resilience={"MaxRetries": 0})
    idp.hang(3, count=1)
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert e.value.code == "NET-002"


def test_jwt_validation_via_discovery_and_key_rotation(idp):
    m = manager(idp, TokenEndpoint=None, Issuer=idp.issuer, JWTAudience="https://dicom.test/",
                JWTIssuer=idp.issuer)
    assert m.get_token()
    idp.rotate_key()
    time.sleep(10.1)  # the validator refetches the JWKS at most every 10 s
    assert m.test()["audience"] == "https://dicom.test/"


def test_wrong_audience_refused(idp):
    m = manager(idp, Issuer=idp.issuer, JWTAudience="https://not-this-one.test/")
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert e.value.code == "TOK-002"


def test_bad_signature_refused(idp):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    m = manager(idp, JWTPublicKey=pem.decode(), ValidateJWT=True)
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert e.value.code == "TOK-003"


def test_opaque_tokens_work_and_cannot_be_validated(idp):
    m = manager(idp, Resource="urn:dicom:opaque")
    tok = m.get_token()
    assert not tok.startswith("eyJ") and len(tok) > 20
    m2 = manager(idp, Resource="urn:dicom:opaque", Issuer=idp.issuer, ValidateJWT=True)
    with pytest.raises(OAuthPluginError) as e:
        m2.get_token()
    assert e.value.code == "TOK-004"


def test_discovery_with_wrong_issuer_refused(idp):
    m = manager(idp, TokenEndpoint=None, Issuer=idp.issuer.replace("127.0.0.1", "localhost"))
    with pytest.raises(OAuthPluginError) as e:
        m.get_token()
    assert e.value.code == "NET-007"


def test_redis_shared_between_managers_in_one_process(idp, redis_server):
    a = manager(idp, redis_url=redis_server.url)
    b = manager(idp, redis_url=redis_server.url)
    assert a.get_token() == b.get_token()
    assert idp.token_requests() == 1
    assert metric_value(b.metrics, "dicomweb_oauth_shared_cache_events_total", server="remote", event="adopted") == 1


def test_redis_wrong_key_is_rejected_not_used(idp, redis_server):
    import base64

    a = manager(idp, redis_url=redis_server.url)
    a.get_token()
    cfg = plugin_config(idp, redis_url=redis_server.url)
    bad_cache = type(cfg.cache)(**{**cfg.cache.__dict__, "encryption_key": type(cfg.cache.encryption_key)(
        base64.b64encode(b"x" * 32).decode())})
    cfg2 = type(cfg)(**{**cfg.__dict__, "cache": bad_cache})
    b = build_managers(cfg2, Metrics())["remote"]
    assert b.get_token() != a.get_token()
    assert metric_value(b.metrics, "dicomweb_oauth_errors_total", server="remote", code="SEC-005") >= 1


def test_redis_stopped_mid_run_no_call_fails_and_sharing_resumes(idp, redis_server):
    import redis as redislib

    idp.set_ttl(4)
    m = manager(idp, redis_url=redis_server.url)
    m.start()
    failures = 0
    try:
        m.get_token()
        redis_server.stop()
        end = time.monotonic() + 6
        while time.monotonic() < end:
            try:
                m.get_token()
            except OAuthPluginError:
                failures += 1
            time.sleep(0.02)
        assert m.status()["shared_cache"] == "down"
        redis_server.start()
        end = time.monotonic() + 8
        client = redislib.Redis.from_url(redis_server.url)
        while time.monotonic() < end and not client.keys("dicomweb-oauth:token:*"):
            try:
                m.get_token()
            except OAuthPluginError:
                failures += 1
            time.sleep(0.05)
        assert client.keys("dicomweb-oauth:token:*"), "sharing did not resume"
        assert m.status()["shared_cache"] == "up"
    finally:
        m.stop()
    assert failures == 0
    assert metric_value(m.metrics, "dicomweb_oauth_shared_cache_events_total", server="remote",
                        event="unavailable") >= 1


def test_valid_token_still_served_while_breaker_open(idp):
    m = manager(idp)
    tok = m.get_token()
    idp.fail_with(503)
    for _ in range(2):
        with pytest.raises(OAuthPluginError):
            m.test()  # forced acquisitions fail and open the breaker
    assert m.status()["circuit_breaker"] == "open"
    assert m.get_token() == tok
    assert idp.token_requests() == 1 + 2 * 3


def test_redis_over_tls_with_password(idp, tmp_path):
    """rediss:// with RedisCaBundle and RedisPassword against a real redis-server with TLS and
    requirepass; a wrong password leaves every call working from the local cache."""
    from testenv import RedisServer
    from tests.helpers.config import ENC_KEY

    r = RedisServer(tmp_path, password="redis-pass-0c1d2e", tls=True, name="redis-tls").start()
    try:
        cache = {"Backend": "redis", "RedisUrl": r.url, "RedisPassword": "redis-pass-0c1d2e",
                 "RedisCaBundle": r.ca_file, "EncryptionKey": ENC_KEY}

        def mgr(c):
            from orthanc_dicomweb_oauth.loader.config import load_config
            from tests.helpers.config import LOOPBACK, server_section
            return build_managers(load_config({"Servers": {"remote": server_section(idp)}, "Cache": c, "AllowPrivateHosts": LOOPBACK},
                                              environ={}), Metrics())["remote"]

        a, b = mgr(cache), mgr(cache)
        assert a.get_token() == b.get_token()
        assert idp.token_requests() == 1 and b.status()["shared_cache"] == "up"
        wrong = mgr({**cache, "RedisPassword": "not-the-password"})
        assert wrong.get_token()  # works, from the identity provider
        assert wrong.status()["shared_cache"] == "down"
        assert metric_value(wrong.metrics, "dicomweb_oauth_shared_cache_events_total", server="remote",
                            event="unavailable") >= 1
    finally:
        r.stop()
