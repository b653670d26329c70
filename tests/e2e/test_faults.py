"""The token path under faults, with DICOMweb traffic running through a real Orthanc pair and the
real OpenID provider: failures only while no valid token can exist, and recovery within seconds
of the provider's return (not after the breaker's timeout)."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import pytest

from testenv.orthanc import OrthancServer
from tests.conftest import STATE_DIR, report
from tests.e2e.conftest import oauth_section, published
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.real


def qido_ok(src) -> bool:
    status, _, _ = src.request("POST", "/dicom-web/servers/remote/qido", {"Uri": "/studies", "Arguments": {
        "limit": "1"}})
    return status == 200


class Traffic:
    """A QIDO through the plugin's server every 0.2 s in the background, each recorded as
    (seconds since start, ok)."""

    def __init__(self, src: OrthancServer) -> None:
        self.src = src
        self.calls: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.calls.append((time.monotonic() - self.t0, qido_ok(self.src)))
            self._stop.wait(0.2)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)

    def failed(self) -> list[float]:
        return [t for t, ok in self.calls if not ok]


def warm_source(make_source, idp, target, **server: Any) -> OrthancServer:
    src = make_source(oauth_section(idp, target, **server))
    wait_for(lambda: published(src), 10, what="server definition")
    assert qido_ok(src)
    return src


def refreshed_after(src: OrthancServer, since: float, within: float) -> float:
    """Seconds after ``since`` (time.time()) until the plugin holds a token acquired after it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        s = src.get("/dicomweb-oauth/status")["servers"]["remote"]
        if s["last_success"] and s["last_success"] > since:
            return s["last_success"] - since
        time.sleep(0.1)
    raise AssertionError(f"no new token within {within} s")


@pytest.mark.parametrize("fault", ["http-500", "http-429-retry-after", "hanging"])
def test_provider_faults_shorter_than_the_token_cause_no_failure(make_source, target, idp, fault):
    """The fault spans the refresh of a 20 s token: refreshes fail (retried, then probed), the
    valid token keeps being used, and the first request after the fault brings a new one."""
    idp.set_ttl(20)
    src = warm_source(make_source, idp, target, TokenTimeoutSeconds=1)
    with Traffic(src) as traffic:
        time.sleep(1)
        if fault == "http-500":
            idp.fail_with(500)
        elif fault == "http-429-retry-after":
            idp.fail_with(429, retry_after="1")
        else:
            idp.hang(30)
        time.sleep(12)
        idp.heal()
        healed = time.time()
        after = refreshed_after(src, healed, 10)
        time.sleep(1)
    report(f"{fault} for 12 s: {len(traffic.failed())} of {len(traffic.calls)} QIDO calls failed; new token "
          f"{after:.2f} s after the provider healed")
    assert traffic.failed() == [] and len(traffic.calls) > 50
    assert after <= 5


def test_signing_key_rotated_with_overlap_changes_nothing(make_source, target, idp):
    idp.set_ttl(300)
    src = warm_source(make_source, idp, target, ValidateJWT=True, JwksUri=idp.jwks_uri)
    log_from = len(src.log())  # a state directory of an earlier run may hold an older log
    requests_before = idp.token_requests()
    with Traffic(src) as traffic:
        time.sleep(0.5)
        idp.rotate_key(overlap=True)
        time.sleep(8)
    report(f"key rotated with overlap: {len(traffic.failed())} of {len(traffic.calls)} QIDO calls failed")
    assert traffic.failed() == [] and idp.token_requests() == requests_before
    src.stop()
    assert "jwks.key_withdrawn" not in src.log()[log_from:]


def test_redis_down_and_back_no_failure_and_sharing_resumes(make_source, target, idp, redis_server):
    idp.set_ttl(12)
    key = base64.b64encode(b"k" * 32).decode()
    src = warm_source(make_source, idp, target)
    src.stop()
    src = make_source(oauth_section(idp, target, top={"Cache": {"Backend": "redis", "RedisUrl": redis_server.url,
                                                                 "EncryptionKey": key}}))
    wait_for(lambda: published(src), 10, what="server definition")
    with Traffic(src) as traffic:
        redis_server.stop()
        time.sleep(9)  # a refresh falls in the outage: the plugin asks the provider itself
        redis_server.start()
        back = time.time()
        time.sleep(9)  # the next refresh goes through Redis again
    metrics = src.request("GET", "/dicomweb-oauth/metrics")[2].decode()
    report(f"Redis down 9 s: {len(traffic.failed())} of {len(traffic.calls)} QIDO calls failed")
    assert traffic.failed() == []
    assert 'dicomweb_oauth_shared_cache_events_total{event="unavailable",server="remote"}' in metrics
    stored = [ln for ln in metrics.splitlines()
              if ln.startswith('dicomweb_oauth_shared_cache_events_total{event="stored"')]
    assert stored and float(stored[0].split()[-1]) >= 2, stored  # before the outage and after it
    assert src.get("/dicomweb-oauth/status")["servers"]["remote"]["last_success"] > back


def test_target_refusing_tokens_fails_only_while_it_refuses(make_source, target, idp):
    """A target that refuses our tokens (here: restarted expecting another audience) is the
    target's doing: calls fail while it refuses and succeed again, without a plugin restart and
    without a storm of token requests, once it accepts them."""
    idp.set_ttl(300)
    src = warm_source(make_source, idp, target)
    requests_before = idp.token_requests()
    refusing = OrthancServer.target(STATE_DIR, target.name, idp.jwks_uri, "https://another.audience/", idp.issuer)
    refusing.port = target.port
    with Traffic(src) as traffic:
        time.sleep(0.5)
        down_from = traffic.now()  # from here the target is restarting, then refusing
        target.stop()
        refusing.start()
        refuse_from = traffic.now()
        time.sleep(4)
        refusing.stop()
        refuse_until = traffic.now()
        target.start()
        back = traffic.now()
        time.sleep(3)
    recovered = min(t for t, ok in traffic.calls if ok and t > back) - back
    failed = traffic.failed()
    report(f"target refused tokens for 4 s: {len(failed)} of {len(traffic.calls)} QIDO calls failed; "
          f"accepted again {recovered:.2f} s after it was back")
    assert failed and all(down_from <= t <= back + recovered for t in failed), (failed, down_from, back)
    assert any(refuse_from <= t <= refuse_until for t in failed)
    assert recovered <= 5 and idp.token_requests() == requests_before


def test_provider_down_30_s_recovers_within_seconds_of_its_return(make_source, target, idp):
    idp.set_ttl(20)
    # The default breaker timeout (60 s) would have kept the server down for up to a minute.
    section = oauth_section(idp, target, Resilience={"MaxRetries": 1, "RetryInitialDelaySeconds": 0.5,
                                                     "CircuitBreakerThreshold": 2,
                                                     "CircuitBreakerTimeoutSeconds": 60})
    src = make_source(section)
    wait_for(lambda: published(src), 10, what="server definition")
    assert qido_ok(src)

    expires_in = src.get("/dicomweb-oauth/status")["servers"]["remote"]["seconds_to_expiry"]
    down_at = time.monotonic()
    idp.stop()
    calls: list[tuple[float, bool]] = []
    while time.monotonic() - down_at < 30:
        calls.append((time.monotonic() - down_at, qido_ok(src)))
        time.sleep(0.25)
    idp.start()
    back_at = time.monotonic() - down_at
    while time.monotonic() - down_at < back_at + 15 and not (calls and calls[-1][1] and calls[-1][0] > back_at):
        calls.append((time.monotonic() - down_at, qido_ok(src)))
        time.sleep(0.1)

    failed = [t for t, ok in calls if not ok]
    recovered = min(t for t, ok in calls if ok and t > back_at) - back_at
    report(f"30 s outage: {len(failed)} of {len(calls)} QIDO calls failed, the first {failed[0]:.1f} s into "
          f"the outage (last token expired at {expires_in:.1f} s); recovery {recovered:.2f} s after the "
          "provider's return")
    # Failures only once the last token could no longer be used (it is not handed out in the last
    # 10 % of its lifetime, 2 s here), and all of them before the provider returned plus recovery.
    assert failed and failed[0] >= expires_in - 2 - 0.5, (failed[0], expires_in)
    assert all(t < back_at + recovered + 0.01 for t in failed)
    assert recovered <= 5, recovered
    st = src.get("/dicomweb-oauth/status")
    assert st["status"] == "ok" and st["servers"]["remote"]["circuit_breaker"] == "closed"


def test_signing_key_rotated_without_overlap_recovers_within_seconds(make_source, target, idp):
    """The provider replaces its signing key and the old one leaves the JWKS at once: the target
    refuses the cached token from then on. With JWT validation on, the plugin sees the key go
    (JWKS polled every JwksPollSeconds) and replaces the token before its expiry."""
    idp.set_ttl(300)
    src = make_source(oauth_section(idp, target, ValidateJWT=True, JwksUri=idp.jwks_uri))
    wait_for(lambda: published(src), 10, what="server definition")
    assert qido_ok(src)
    log_from = len(src.log())
    requests_before = idp.token_requests()
    rotated_at = time.monotonic()
    idp.rotate_key()
    calls: list[tuple[float, bool]] = []
    while time.monotonic() - rotated_at < 15:
        calls.append((time.monotonic() - rotated_at, qido_ok(src)))
        if calls[-1][1] and any(not ok for _, ok in calls):
            break
        time.sleep(0.1)
    failed = [t for t, ok in calls if not ok]
    recovered = calls[-1][0] if calls[-1][1] else float("inf")
    report(f"key rotated without overlap: {len(failed)} of {len(calls)} QIDO calls failed; a new token "
          f"{recovered:.2f} s after the rotation (token lifetime 300 s)")
    assert recovered <= 5, recovered
    assert idp.token_requests() == requests_before + 1  # one replacement, not a storm
    assert target.access_entries()[-1]["ok"]
    src.stop()
    assert "jwks.key_withdrawn server=remote" in src.log()[log_from:]
