"""The monitoring role's Prometheus configuration and rules against live data: a real
Prometheus scrapes the plugin in two real Orthanc sources that share a real Redis, while they
send DICOMweb traffic to the token-protected target; then the identity provider fails. Every
dashboard panel's query must return data and the outage alert must reach `firing`."""

from __future__ import annotations

import json
import re
import time

import pytest

from testenv import PrometheusServer, free_port
from tests.conftest import STATE_DIR, report
from tests.e2e.conftest import CREDENTIALS, oauth_section, published
from tests.e2e.test_dicomweb_through_oauth import load_study
from tests.helpers.collection import ROOT
from tests.helpers.config import ENC_KEY
from tests.helpers.monitoring import dashboard_queries, render_monitoring
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.real

OUTAGE_ALERT = "DicomwebOAuthCircuitBreakerOpen"


def alert_states(prom: PrometheusServer, name: str) -> dict[str, str]:
    return {a["labels"]["orthanc_node"]: a["state"] for a in prom.alerts() if a["labels"]["alertname"] == name}


@pytest.mark.timeout(240)
def test_dashboard_queries_return_data_and_the_outage_alert_fires(tmp_path, make_source, target, idp, redis_server):
    idp.set_ttl(8)  # a refresh every 4 s, so that the outage is felt at once
    cache = {"Cache": {"Backend": "redis", "RedisUrl": redis_server.url, "EncryptionKey": ENC_KEY}}
    nodes = {"node-a": make_source(oauth_section(idp, target, top=cache)),
             "node-b": make_source(oauth_section(idp, target, top=cache))}
    for src in nodes.values():
        wait_for(lambda src=src: published(src), 10, what="server definition")

    port = free_port()
    config = render_monitoring(tmp_path, {
        "monitoring_prometheus_listen_address": f"127.0.0.1:{port}",
        "monitoring_prometheus_scrape_interval": "1s",
        "monitoring_prometheus_evaluation_interval": "1s",
        "monitoring_alert_breaker_open_for": "3s",
        "monitoring_orthanc_targets": [{"name": n, "url": s.url, "username": CREDENTIALS[0],
                                        "password": CREDENTIALS[1]} for n, s in nodes.items()],
    })
    prom = PrometheusServer(STATE_DIR, config, port=port)
    prom.stop()  # a leftover from an interrupted run
    prom.start()
    try:
        wait_for(lambda: sum(t["health"] == "up" for t in prom.targets()) == 3, 20, what="3 targets up")
        variable = prom.api("label/orthanc_node/values", **{"match[]": 'up{service="dicomweb-oauth"}'})
        assert sorted(variable) == ["node-a", "node-b"]  # the dashboard's $orthanc_node choices

        # DICOMweb traffic through OAuth from both nodes: STOW from one, QIDO from both.
        study = load_study(nodes["node-a"], n=2)
        status, _, _ = nodes["node-a"].request("POST", "/dicom-web/servers/remote/stow",
                                               {"Resources": [study["study_id"]]})
        assert status == 200
        end = time.monotonic() + 6
        while time.monotonic() < end:
            for src in nodes.values():
                status, _, _ = src.request("POST", "/dicom-web/servers/remote/qido", {"Uri": "/studies"})
                assert status == 200
            time.sleep(0.2)
        assert alert_states(prom, OUTAGE_ALERT) == {}

        # The provider fails: the breaker opens, the alert goes pending, then firing.
        t0 = time.monotonic()
        idp.fail_with(500)
        wait_for(lambda: "firing" in alert_states(prom, OUTAGE_ALERT).values(), 60, interval=0.5,
                 what=f"{OUTAGE_ALERT} firing")
        fired_after = time.monotonic() - t0
        firing = [a for a in prom.alerts() if a["labels"]["alertname"] == OUTAGE_ALERT and a["state"] == "firing"]
        assert firing[0]["labels"]["server"] == "remote" and firing[0]["labels"]["severity"] == "critical"

        # Every panel's query returns data (the errors and retries of the outage included).
        empty: dict[str, str] = {}
        for title, expr in dashboard_queries():
            try:
                wait_for(lambda expr=expr: prom.query(expr), 15, interval=0.5, what=title)
            except AssertionError:
                empty[title] = expr
        assert not empty, f"panels without data: {empty}"
        for expr in ('dicomweb_oauth_circuit_breaker_state', 'dicomweb_oauth:token_seconds_to_expiry',
                     'up{service="dicomweb-oauth"}'):
            assert {s["metric"]["orthanc_node"] for s in prom.query(expr)} == set(nodes), expr
        # The outage shows in "Errors by code" under the plugin's documented codes (docs/errors.md).
        # (increase() needs two samples of a series, the first error only creates it: wait.)
        codes = {s["metric"]["code"] for s in wait_for(lambda: prom.query("dicomweb_oauth:errors:increase15m > 0"),
                                                       15, interval=0.5, what="errors by code")}
        documented = set(re.findall(r"^## ([A-Z]+-\d{3})", (ROOT / "docs" / "errors.md").read_text(), re.M))
        assert codes and codes <= documented, codes

        # Nothing secret in what Prometheus stored or shows.
        dump = json.dumps(prom.query('{__name__=~"dicomweb_oauth.+"}')) + json.dumps(prom.api("status/config"))
        secret = idp.client("orthanc")["client_secret"]
        assert secret not in dump and CREDENTIALS[1] not in dump

        # The provider is back: the breaker closes and the alert resolves.
        idp.heal()
        wait_for(lambda: OUTAGE_ALERT not in {a["labels"]["alertname"] for a in prom.alerts()}, 30, interval=0.5,
                 what=f"{OUTAGE_ALERT} resolved")
        report(f"{OUTAGE_ALERT} firing {fired_after:.1f} s after the outage began "
              f"(breaker threshold 2, alert hold 3 s, scrape and evaluation every 1 s)")
    finally:
        prom.stop()
        assert not prom.running()
