"""The plugin's REST API in a real Orthanc, its metrics, its refusals, and a scan of everything
it shows for tokens and secrets."""

from __future__ import annotations

import json
import re
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import oauth_section, published
from tests.helpers.collection import GALAXY_VERSION
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.real
JWT_RE = re.compile(rb"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")



def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_rest_api_metrics_and_no_secret_anywhere(make_source, target, idp):
    section = oauth_section(idp, target, top={"RateLimit": {"Requests": 5, "WindowSeconds": 60}})
    src = make_source(section)
    wait_for(lambda: published(src), 10, what="server definition")
    answers: list[bytes] = []

    def call(method, path, expect):
        status, headers, body = src.request(method, path)
        assert status == expect, (method, path, status, body[:300])
        answers.append(body + json.dumps(headers).encode())
        return headers, (json.loads(body) if body[:1] in (b"{", b"[") else body)

    _, st = call("GET", "/dicomweb-oauth/status", 200)
    assert st["plugin_version"] == GALAXY_VERSION and st["api_version"] == 1 and st["uptime_seconds"] >= 0
    assert st["status"] == "ok" and st["configuration_error"] is None
    r = st["servers"]["remote"]
    assert r["has_token"] and 290 < r["seconds_to_expiry"] <= 300 and r["circuit_breaker"] == "closed"
    assert r["last_result"] == "ok" and r["last_success"] and r["published"]

    _, servers = call("GET", "/dicomweb-oauth/servers", 200)
    assert [s["name"] for s in servers] == ["remote"]
    _, one = call("GET", "/dicomweb-oauth/servers/remote", 200)
    assert one["configuration"]["client_id"] == "orthanc" and "client_secret" not in one["configuration"]
    headers, err = call("GET", "/dicomweb-oauth/servers/nope", 404)
    assert err["error"]["code"] == "INT-003" and headers["X-Correlation-Id"] == err["error"]["correlation_id"]

    for _ in range(2):
        _, t = call("POST", "/dicomweb-oauth/servers/remote/test", 200)
        assert t["ok"] and t["jwt"] and t["token_type"] == "Bearer" and t["published"]
        assert t["audience"] == "https://dicom.test/" and t["issuer"] == idp.issuer
        assert 0 < t["duration_ms"] < 5000 and 290 < t["expires_in"] <= 300
        assert t["scope"] == "dicom.read dicom.write"
    assert idp.token_requests() == 3  # start + two tests

    idp.fail_with(500)
    for code in ("NET-004", "NET-004", "NET-006"):
        _, err = call("POST", "/dicomweb-oauth/servers/remote/test", 502 if code == "NET-004" else 503)
        assert err["error"]["code"] == code and err["error"]["server"] == "remote"
    # Rate limited: 503 + Retry-After, since Orthanc 1.10 cannot send 429 from a plugin.
    headers, err = call("POST", "/dicomweb-oauth/servers/remote/test", 503)
    assert err["error"]["code"] == "SEC-007" and 0 < int(headers["Retry-After"]) <= 60
    idp.heal()

    # Orthanc allows no body on 405; the Allow header names the method.
    headers, _ = call("GET", "/dicomweb-oauth/servers/remote/test", 405)
    assert headers["Allow"] == "POST"
    headers, _ = call("POST", "/dicomweb-oauth/status", 405)
    assert headers["Allow"] == "GET"

    # A still-valid token keeps being served while the breaker is open.
    status, _, _ = src.request("POST", "/dicom-web/servers/remote/qido", {"Uri": "/studies"})
    assert status == 200
    _, st = call("GET", "/dicomweb-oauth/status", 200)
    assert st["servers"]["remote"]["circuit_breaker"] in ("open", "half-open")

    headers, text = call("GET", "/dicomweb-oauth/metrics", 200)
    assert headers["Content-Type"].startswith("text/plain")
    text = text.decode()
    m = lambda name, **lab: metric(text, name, server="remote", **lab)  # noqa: E731
    assert m("dicomweb_oauth_token_acquisitions_total", status="success") == 3
    assert m("dicomweb_oauth_token_acquisitions_total", status="failure") == 4  # 2 x (1 + 1 retry)
    assert m("dicomweb_oauth_token_acquisition_duration_seconds_count") == 5
    assert m("dicomweb_oauth_token_expiry_timestamp_seconds") > time.time()
    assert m("dicomweb_oauth_cache_misses_total") == 1  # the first token
    assert m("dicomweb_oauth_circuit_breaker_state") in (1, 2)
    assert m("dicomweb_oauth_retries_total") == 2
    assert m("dicomweb_oauth_errors_total", code="NET-004") == 4
    assert m("dicomweb_oauth_errors_total", code="NET-006") == 1
    assert m("dicomweb_oauth_errors_total", code="SEC-007") == 1
    assert m("dicomweb_oauth_header_updates_total") == 3
    assert 'dicomweb_oauth_build_info{api_version="1"' in text

    # Everything the source shows: answers, Orthanc's own view of its DICOMweb servers, its log.
    status, _, expand = src.request("GET", "/dicom-web/servers?expand")
    assert status == 200 and json.loads(expand)["remote"]["HttpHeaders"] == ["Authorization"]
    answers.append(expand)
    src.stop()  # flush the log
    log = src.log().encode()
    assert b"dicomweb-oauth: token.acquired" in log and b"cid=" in log
    haystack = b"\n".join([*answers, log])
    secrets = [idp.client("orthanc")["client_secret"].encode(), *[t.encode() for t in target.received_tokens()]]
    assert target.received_tokens(), "the target saw no token, the scan would prove nothing"
    for s in secrets:
        assert s not in haystack
    assert not JWT_RE.search(haystack), JWT_RE.search(haystack)


def test_anonymous_requests_refused_when_authentication_on(make_source):
    src = make_source()
    for method, path in (("GET", "/dicomweb-oauth/status"), ("GET", "/dicomweb-oauth/metrics"),
                         ("GET", "/dicomweb-oauth/servers"), ("POST", "/dicomweb-oauth/servers/remote/test")):
        status, _, _ = src.request(method, path, auth=False)
        assert status == 401, path
    assert src.request("GET", "/dicomweb-oauth/status")[0] == 200


@pytest.mark.parametrize("case,code", [
    ("servers_in_database", "SEC-002"),
    ("also_in_dicomweb_servers", "CFG-006"),
    ("older_plugin_proxy_url", "CFG-005"),
    ("verify_ssl_off", "SEC-001"),
    ("unset_variable", "CFG-002"),  # Orthanc substitutes ${VAR} first: unset becomes ""
])
def test_refusals_leave_orthanc_serving(make_source, target, idp, case, code):
    section = oauth_section(idp, target)
    extra = {}
    if case == "servers_in_database":
        extra = {"DicomWeb": {"ServersInDatabase": True}}
    elif case == "also_in_dicomweb_servers":
        extra = {"DicomWeb": {"Servers": {"remote": [f"{target.url}/dicom-web/"]}}}
    elif case == "older_plugin_proxy_url":
        extra = {"DicomWeb": {"Servers": {"remote": {"Url": "http://localhost:8042/oauth-dicom-web/servers/remote"}}}}
    elif case == "verify_ssl_off":
        section["Servers"]["remote"]["VerifySSL"] = False
    elif case == "unset_variable":
        section["Servers"]["remote"]["ClientSecret"] = "${DWO_TEST_UNSET_VARIABLE}"
    src = make_source(section, extra=extra)
    time.sleep(1)

    assert src.get("/system")["Name"]  # Orthanc is up and serving
    st = src.get("/dicomweb-oauth/status")
    assert st["status"] == "error" and st["configuration_error"]["code"] == code, st
    status, _, body = src.request("GET", "/dicomweb-oauth/servers")
    assert status == 503 and json.loads(body)["error"]["code"] == "INT-006"
    expand = src.get("/dicom-web/servers?expand")
    assert "Authorization" not in json.dumps(expand)
    assert idp.token_requests() == 0
    src.stop()
    log = src.log()
    assert f"config.refused code={code}" in log
    if case == "unset_variable":
        assert "environment variable is not set" in log


ROUTES = {"/dicomweb-oauth/status": "GET", "/dicomweb-oauth/servers": "GET",
          "/dicomweb-oauth/servers/remote": "GET", "/dicomweb-oauth/servers/remote/test": "POST",
          "/dicomweb-oauth/metrics": "GET"}


def test_every_route_every_method_and_malformed_names(make_source, target, idp):
    src = make_source()
    wait_for(lambda: published(src), 10, what="server definition")
    for path, allowed in ROUTES.items():
        for method in ("GET", "POST", "PUT", "DELETE"):
            status, headers, body = src.request(method, path)
            if method == allowed:
                assert status == 200 and headers["X-Correlation-Id"], (method, path, status)
            else:
                # Orthanc sends 405 itself and allows neither a body nor extra headers on it
                # (OrthancPluginSendMethodNotAllowed): the Allow header is all there is.
                assert (status, headers.get("Allow"), body) == (405, allowed, b""), (method, path)
    for name, ours in (("nope", True), ("x" * 300, True), ("a.b-c_d", True), ("%2E%2E", False),
                       ("%FF%FE", False), ("a%20b", False), ("%C3%A9", False)):
        for method, path in (("GET", f"/dicomweb-oauth/servers/{name}"),
                             ("POST", f"/dicomweb-oauth/servers/{name}/test")):
            status, headers, body = src.request(method, path)
            assert status == 404, (name, status, body[:200])
            err = json.loads(body)
            if ours:  # printable ASCII: the plugin's own answer, code and correlation id
                assert err["error"]["code"] == "INT-003" and headers["X-Correlation-Id"] == err["error"][
                    "correlation_id"], body
                assert not err["error"]["message"].endswith(("'))", "')")), err["error"]["message"]
            else:  # not a possible name: Orthanc's own 404 (orthanc-python cannot decode a non-UTF-8 URI)
                assert err["OrthancError"] == "Unknown resource", body
    assert src.get("/system")["Name"]


def test_orthanc_stops_cleanly_with_the_plugin(make_source, target, idp):
    # With orthanc-python 5.0 (Debian 13), a REST callback only the plugin's loop referenced made
    # Orthanc segfault on every shutdown (exit 139): systemd then records each stop or restart as
    # a failure. Every route has answered before the stop here.
    src = make_source()
    wait_for(lambda: published(src), 10, what="server definition")
    for path, method in ROUTES.items():
        assert src.request(method, path)[0] == 200
    assert src.request("GET", "/dicomweb-oauth/servers/nope")[0] == 404
    src.stop()
    assert src.process.returncode == 0, src.log()[-2000:]
    assert "Orthanc has stopped" in src.log().splitlines()[-1]
