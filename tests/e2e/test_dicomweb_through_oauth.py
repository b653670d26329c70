"""End to end with real Orthanc: the source's standard DICOMweb client calls carry a valid
bearer token that the protected target verifies against the real provider's JWKS."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import oauth_section, published
from tests.helpers.dicom import ct_series
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.real



def load_study(src, n=3):
    ids = [src.upload(d) for d in ct_series(n)]
    inst = src.get(f"/instances/{ids[0]}")
    study = src.get(f"/instances/{ids[0]}/study")
    series = src.get(f"/instances/{ids[0]}/series")
    return {
        "study_id": study["ID"],
        "study_uid": study["MainDicomTags"]["StudyInstanceUID"],
        "series_uid": series["MainDicomTags"]["SeriesInstanceUID"],
        "sop_uid": inst["MainDicomTags"]["SOPInstanceUID"],
    }


def test_target_refuses_without_token(target):
    status, _, _ = target.request("GET", "/dicom-web/studies")
    assert status == 403
    status, _, _ = target.request("GET", "/dicom-web/studies",
                                  headers={"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"})
    assert status == 403


def test_stow_qido_get_rendered_retrieve(make_source, target, idp):
    src = make_source(oauth_section(idp, target, HasDelete=True, Timeout=45, ChunkedTransfers=False))
    wait_for(lambda: published(src), 10, what="server definition")
    # The pass-through fields are part of Orthanc's own definition of the server.
    definition = src.get("/dicom-web/servers?expand")["remote"]
    assert definition["Timeout"] == 45 and definition["HasDelete"] in ("1", True)
    assert definition["HttpHeaders"] == ["Authorization"]
    before = len(target.access_entries())
    s = load_study(src)

    # STOW
    r = src.post("/dicom-web/servers/remote/stow", {"Resources": [s["study_id"]]})
    assert int(r["InstancesCount"]) == 3
    assert any(x["MainDicomTags"]["StudyInstanceUID"] == s["study_uid"]
               for x in target.get("/studies?expand"))

    # QIDO
    found = src.post("/dicom-web/servers/remote/qido",
                     {"Uri": "/studies", "Arguments": {"StudyInstanceUID": s["study_uid"]}})
    assert len(found) == 1 and found[0]["0020000D"]["Value"] == s["study_uid"]  # Orthanc simplifies QIDO answers

    # WADO-RS through /get: an instance, and a rendered frame
    base = f"/studies/{s['study_uid']}/series/{s['series_uid']}/instances/{s['sop_uid']}"
    status, _, body = src.request("POST", "/dicom-web/servers/remote/get", {"Uri": base})
    assert status == 200 and b"DICM" in body
    status, _, body = src.request("POST", "/dicom-web/servers/remote/get",
                                  {"Uri": base + "/frames/1/rendered",
                                   "HttpHeaders": {"Accept": "image/png"}})
    assert status == 200 and (body.startswith(b"\x89PNG") or body.startswith(b"\xff\xd8")), body[:40]

    # Retrieve: delete locally, pull back from the target
    status, _, _ = src.request("DELETE", f"/studies/{s['study_id']}")
    assert status == 200
    src.post("/dicom-web/servers/remote/retrieve", {"Resources": [{"Study": s["study_uid"]}]})
    wait_for(lambda: s["study_id"] in src.get("/studies"), 10, what="retrieved study")
    wait_for(lambda: len(src.get(f"/studies/{s['study_id']}/instances")) == 3, 10, what="3 instances")

    seen = target.access_entries()[before:]
    assert seen, "the target saw no DICOMweb request"
    assert all(e["ok"] for e in seen), [e for e in seen if not e["ok"]]
    assert {e["client_id"] for e in seen} == {"orthanc"}
    assert {e["aud"] for e in seen} == {"https://dicom.test/"}
    methods = {(e["method"], e["uri"].split("/")[2]) for e in seen}
    assert ("POST", "studies") in methods and ("GET", "studies") in methods
    assert any("/rendered" in e["uri"] for e in seen)
    assert any(e["uri"].endswith(f"/studies/{s['study_uid']}") for e in seen)  # retrieve


def test_continuous_traffic_over_four_lifetimes(make_source, target, idp):
    idp.set_ttl(15)
    src = make_source()
    wait_for(lambda: published(src), 10, what="server definition")
    s = load_study(src, n=1)
    before = len(target.access_entries())
    failures = []
    calls = 0
    end = time.monotonic() + 62
    while time.monotonic() < end:
        status, _, body = src.request("POST", "/dicom-web/servers/remote/stow", {"Resources": [s["study_id"]]})
        if status != 200:
            failures.append(("stow", status, body[:200]))
        status, _, body = src.request("POST", "/dicom-web/servers/remote/qido",
                                      {"Uri": "/studies", "Arguments": {"StudyInstanceUID": s["study_uid"]}})
        if status != 200 or not json.loads(body):
            failures.append(("qido", status, body[:200]))
        calls += 2
        time.sleep(0.2)
    assert failures == []
    seen = target.access_entries()[before:]
    assert all(e["ok"] for e in seen)
    assert all(e["exp"] > e["t"] for e in seen), "a request arrived with an expired token"
    tokens = {e["token_sha256"] for e in seen}
    assert len(tokens) >= 5, f"only {len(tokens)} tokens in 62 s of 15 s tokens"
    assert calls >= 100


def test_provider_down_then_back(make_source, target, idp):
    idp.set_ttl(8)
    src = make_source()
    wait_for(lambda: published(src), 10, what="server definition")
    s = load_study(src, n=1)
    idp.stop()

    status, _, body = src.request("POST", "/dicomweb-oauth/servers/remote/test")
    err = json.loads(body)["error"]
    assert status in (502, 503) and err["code"] in ("NET-001", "NET-006"), body
    assert err["server"] == "remote" and err["troubleshooting"]

    # Once the last token is no longer usable the definition is withdrawn: DICOMweb calls fail
    # at once (Orthanc: inexistent server), never sent with an expired token, and the log says
    # which server and why.
    wait_for(lambda: not published(src), 15, what="withdrawal")
    st = src.get("/dicomweb-oauth/status")
    assert st["status"] == "degraded"
    assert st["servers"]["remote"]["circuit_breaker"] in ("open", "half-open")
    assert st["servers"]["remote"]["last_result"] in ("NET-001", "NET-006")
    before = len(target.access_entries())
    for path, body in (("stow", {"Resources": [s["study_id"]]}), ("qido", {"Uri": "/studies"}),
                       ("get", {"Uri": "/studies"}), ("retrieve", {"Resources": [{"Study": s["study_uid"]}]})):
        status, _, answer = src.request("POST", f"/dicom-web/servers/remote/{path}", body)
        assert status in (404, 500), path
        if path in ("qido", "get"):  # STOW and retrieve run as jobs: Orthanc answers a bare 500
            assert b"Inexistent server: remote" in answer, answer
    assert len(target.access_entries()) == before
    assert "dicomweb.unavailable server=remote code=NET-00" in src.log()
    assert src.get("/system")["Name"]  # Orthanc keeps serving

    idp.start()
    wait_for(lambda: published(src), 3 + 5, what="recovery within a breaker timeout")
    status, _, _ = src.request("POST", "/dicom-web/servers/remote/stow", {"Resources": [s["study_id"]]})
    assert status == 200
    assert src.get("/dicomweb-oauth/status")["status"] == "ok"


def test_two_sources_share_redis_one_request_per_refresh(make_source, target, idp, redis_server):
    from tests.helpers.config import ENC_KEY

    idp.set_ttl(8)
    cache = {"Cache": {"Backend": "redis", "RedisUrl": redis_server.url, "EncryptionKey": ENC_KEY}}
    a = make_source(oauth_section(idp, target, top=cache, HttpHeaders={"X-Node": "a"}), start=False)
    b = make_source(oauth_section(idp, target, top=cache, HttpHeaders={"X-Node": "b"}), start=False)
    before = len(target.access_entries())
    a.start()
    b.start()
    for src in (a, b):
        wait_for(lambda src=src: published(src), 10, what="server definition")
    end = time.monotonic() + 20
    while time.monotonic() < end:
        for src in (a, b):
            status, _, _ = src.request("POST", "/dicom-web/servers/remote/qido", {"Uri": "/studies"})
            assert status == 200
        time.sleep(0.1)
    seen = target.access_entries()[before:]
    assert all(e["ok"] for e in seen)
    by_node = {n: {e["token_sha256"] for e in seen if e.get("node") == n} for n in ("a", "b")}
    assert by_node["a"] and by_node["b"], "static headers were not passed through"
    tokens = by_node["a"] | by_node["b"]
    requests = idp.token_requests()
    # One request per token for the whole cluster; at most one more, issued by a refresh at
    # the very end of the window and not used yet.
    assert len(tokens) <= requests <= len(tokens) + 1, (requests, len(tokens))
    assert len(by_node["a"] & by_node["b"]) >= len(tokens) - 1, "the nodes did not share tokens"
    assert len(tokens) >= 4
    # Tokens adopted from Redis count as cache hits on the node that did not ask.
    hits = 0.0
    for src in (a, b):
        text = src.get("/dicomweb-oauth/metrics").decode()
        hits += sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                    if line.startswith('dicomweb_oauth_cache_hits_total{server="remote"}'))
    assert hits >= len(tokens) - 1
