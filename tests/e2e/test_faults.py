"""The token path under faults, with DICOMweb traffic running through a real Orthanc pair and the
real OpenID provider: failures only while no valid token can exist, and recovery within seconds
of the provider's return (not after the breaker's timeout)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import oauth_section, published
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.real


def qido_ok(src) -> bool:
    status, _, _ = src.request("POST", "/dicom-web/servers/remote/qido", {"Uri": "/studies", "Arguments": {
        "limit": "1"}})
    return status == 200


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
    print(f"\n30 s outage: {len(failed)} of {len(calls)} QIDO calls failed, the first {failed[0]:.1f} s into "
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
    print(f"\nkey rotated without overlap: {len(failed)} of {len(calls)} QIDO calls failed; a new token "
          f"{recovered:.2f} s after the rotation (token lifetime 300 s)")
    assert recovered <= 5, recovered
    assert idp.token_requests() == requests_before + 1  # one replacement, not a storm
    assert target.access_entries()[-1]["ok"]
    src.stop()
    assert "jwks.key_withdrawn server=remote" in src.log()
