"""Every metric of SPEC 3.6 that the token layer owns changes value, against the real provider."""

from __future__ import annotations

import time

import pytest

from orthanc_dicomweb_oauth.loader.errors import OAuthPluginError
from orthanc_dicomweb_oauth.runtime.metrics import Metrics
from orthanc_dicomweb_oauth.runtime.token_manager import build_managers
from tests.helpers.config import metric_value, plugin_config

pytestmark = pytest.mark.real


def test_every_metric_moves(idp, redis_server):
    metrics = Metrics()
    m = build_managers(plugin_config(idp, redis_url=redis_server.url), metrics)["remote"]

    def v(name, **labels):
        return metric_value(metrics, name, server="remote", **labels)

    before = {
        "ok": v("dicomweb_oauth_token_acquisitions_total", status="success"),
        "fail": v("dicomweb_oauth_token_acquisitions_total", status="failure"),
        "dur": v("dicomweb_oauth_token_acquisition_duration_seconds_count"),
        "exp": v("dicomweb_oauth_token_expiry_timestamp_seconds"),
        "hit": v("dicomweb_oauth_cache_hits_total"),
        "miss": v("dicomweb_oauth_cache_misses_total"),
        "retry": v("dicomweb_oauth_retries_total"),
        "err": v("dicomweb_oauth_errors_total", code="NET-004"),
        "stored": v("dicomweb_oauth_shared_cache_events_total", event="stored"),
    }
    m.get_token()
    m.get_token()
    assert v("dicomweb_oauth_token_acquisitions_total", status="success") == before["ok"] + 1
    assert v("dicomweb_oauth_token_acquisition_duration_seconds_count") == before["dur"] + 1
    assert abs(v("dicomweb_oauth_token_expiry_timestamp_seconds") - (time.time() + 300)) < 5
    assert before["exp"] == 0
    assert v("dicomweb_oauth_cache_misses_total") == before["miss"] + 1
    assert v("dicomweb_oauth_cache_hits_total") == before["hit"] + 1
    assert v("dicomweb_oauth_shared_cache_events_total", event="stored") == before["stored"] + 1

    idp.fail_with(500)
    states = []
    for _ in range(2):
        with pytest.raises(OAuthPluginError):
            m.test()
        states.append(v("dicomweb_oauth_circuit_breaker_state"))
    assert states == [0, 1]
    assert v("dicomweb_oauth_token_acquisitions_total", status="failure") == before["fail"] + 6
    assert v("dicomweb_oauth_retries_total") == before["retry"] + 4
    assert v("dicomweb_oauth_errors_total", code="NET-004") == before["err"] + 6
    with pytest.raises(OAuthPluginError):
        m.test()
    assert v("dicomweb_oauth_errors_total", code="NET-006") == 1

    idp.heal()
    time.sleep(2.05)
    assert m.status()["circuit_breaker"] == "half-open"
    assert v("dicomweb_oauth_circuit_breaker_state") == 2
    m.test()
    assert v("dicomweb_oauth_circuit_breaker_state") == 0

    text = metrics.render().decode()
    assert 'dicomweb_oauth_build_info{api_version="1"' in text
    for name in ("dicomweb_oauth_header_updates_total", "dicomweb_oauth_shared_cache_events_total"):
        assert f"# TYPE {name} counter" in text
