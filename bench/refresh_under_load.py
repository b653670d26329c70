"""Token refresh under load (SPEC section 6): N parallel DICOMweb jobs (STOW and retrieve of a
small study) through a real Orthanc pair while the plugin replaces its token every few seconds.
Printed: jobs and failures (target 0), and the p50/p99 time of the jobs that overlapped a token
refresh against those that did not (a refresh must not make a job wait: ratio near 1).

A refresh is the moment the provider answered a token request (its own record); a job overlaps
it when it was running within 0.5 s of that moment.

Run: ``make bench`` (or ``.venv/bin/python bench/refresh_under_load.py [--workers 4] [--seconds 60]``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugin" / "src"), str(ROOT)]

from testenv import IdentityProvider  # noqa: E402
from testenv.idp import DICOM_RESOURCE  # noqa: E402
from testenv.orthanc import OrthancServer  # noqa: E402
from tests.helpers.config import LOOPBACK  # noqa: E402
from tests.helpers.dicom import ct_series  # noqa: E402

STATE = ROOT / ".testenv" / "bench"
NEAR = 0.5  # seconds either side of a refresh


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else float("nan")


def run_job(src: OrthancServer, route: str, body: dict[str, object]) -> bool:
    """One DICOMweb job, polled every 10 ms: True when it succeeded."""
    status, _, answer = src.request("POST", f"/dicom-web/servers/remote/{route}", {**body, "Asynchronous": True})
    if status != 200:
        return False
    job = json.loads(answer)["ID"]
    while True:
        state = src.get(f"/jobs/{job}")["State"]
        if state in ("Success", "Failure", "Paused"):
            return state == "Success"
        time.sleep(0.01)


def worker(src: OrthancServer, study_uid: str, study_id: str, stop: threading.Event, i: int,
           calls: list[tuple[float, float, str, bool]]) -> None:
    """Alternates STOW and retrieve jobs; records (start, end, kind, ok) on the wall clock.
    Jobs, not synchronous calls: Orthanc 1.10 drops some concurrent synchronous DICOMweb calls
    with or without any plugin (measured), which would hide what the token does."""
    n = 0
    while not stop.is_set():
        kind = "retrieve" if (n + i) % 2 else "stow"
        t0 = time.time()
        try:
            if kind == "stow":
                ok = run_job(src, "stow", {"Resources": [study_id]})
            else:
                ok = run_job(src, "retrieve", {"Resources": [{"Study": study_uid}]})
        except OSError:
            ok = False
        calls.append((t0, time.time(), kind, ok))
        n += 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--ttl", type=int, default=6, help="token lifetime; the plugin refreshes at half of it")
    args = ap.parse_args()
    idp = IdentityProvider(STATE, ttl=args.ttl)
    target = OrthancServer.target(STATE, "bench-target", idp.jwks_uri, DICOM_RESOURCE, idp.issuer)
    src = OrthancServer.source(
        STATE, "bench-refresh",
        {"Servers": {"remote": {"Url": f"{target.url}/dicom-web/", "TokenEndpoint": idp.token_endpoint,
                                "ClientId": "orthanc", "ClientSecret": "${BENCH_SECRET}",
                                "Scope": "dicom.read dicom.write"}}, "AllowPrivateHosts": LOOPBACK},
        env={"BENCH_SECRET": idp.client("orthanc")["client_secret"]}, extra={"ConcurrentJobs": args.workers})
    started = []
    try:
        for c in (idp, target, src):
            c.stop()
            c.start()
            started.append(c)
        deadline = time.monotonic() + 10
        while not src.get("/dicomweb-oauth/status")["servers"]["remote"]["published"]:
            assert time.monotonic() < deadline, "plugin never defined the server"
            time.sleep(0.1)
        ids = [src.upload(d) for d in ct_series(2)]
        study_id = str(src.get(f"/instances/{ids[0]}/study")["ID"])
        study_uid = str(src.get(f"/studies/{study_id}")["MainDicomTags"]["StudyInstanceUID"])
        src.post("/dicom-web/servers/remote/stow", {"Resources": [study_id]})
        idp.reset()
        calls: list[tuple[float, float, str, bool]] = []
        stop = threading.Event()
        threads = [threading.Thread(target=worker, args=(src, study_uid, study_id, stop, i, calls))
                   for i in range(args.workers)]
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        refreshes = [e["t"] for e in idp.stats()["events"] if e.get("status") == 200]
        report(calls, refreshes, args)
    finally:
        for c in reversed(started):
            c.stop()


def report(calls: list[tuple[float, float, str, bool]], refreshes: list[float], args: argparse.Namespace) -> None:
    def near(start: float, end: float) -> bool:
        return any(start - NEAR <= r <= end + NEAR for r in refreshes)

    failed = [c for c in calls if not c[3]]
    print(f"token refresh under load: {args.workers} parallel DICOMweb jobs (STOW and retrieve in turn) for "
          f"{args.seconds:.0f} s, {args.ttl} s tokens: {len(refreshes)} token refreshes")
    print(f"  {len(calls)} DICOMweb jobs, {len(failed)} failed (target 0)")
    for kind in ("stow", "retrieve"):
        at = [c[1] - c[0] for c in calls if c[2] == kind and c[3] and near(c[0], c[1])]
        away = [c[1] - c[0] for c in calls if c[2] == kind and c[3] and not near(c[0], c[1])]
        if not at or not away:
            continue
        ratio = percentile(at, 99) / percentile(away, 99)
        print(f"  {kind}: near a refresh {len(at)} jobs p50 {statistics.median(at) * 1000:.0f} ms p99 "
              f"{percentile(at, 99) * 1000:.0f} ms; away {len(away)} jobs p50 {statistics.median(away) * 1000:.0f} ms "
              f"p99 {percentile(away, 99) * 1000:.0f} ms; p99 ratio near/away {ratio:.2f}")


if __name__ == "__main__":
    main()
