"""Data-path benchmark (SPEC section 6): the plugin must not slow Orthanc's DICOMweb transfers.

Two sources send to the same protected target Orthanc in the same run:
- "plugin": Orthanc + Python plugin + this plugin, the bearer header set by the plugin;
- "static": Orthanc without the Python plugin, the same kind of bearer token written once as a
  static ``HttpHeaders`` entry in ``DicomWeb.Servers`` (the baseline).
Measured: STOW of a ~25 MB study, and 4 parallel retrieves of 4 studies (~25 MB in all);
rounds alternate between the sources and the median is kept. Printed: seconds, MB/s, the
throughput ratio plugin/static (target >= 0.98), and the plugin's added RSS in Orthanc.

Run: ``make bench`` (or ``.venv/bin/python bench/data_path.py [--rounds N]``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugin" / "src"), str(ROOT)]

from testenv import IdentityProvider  # noqa: E402
from testenv.idp import DICOM_RESOURCE  # noqa: E402
from testenv.orthanc import OrthancServer  # noqa: E402
from tests.helpers.config import LOOPBACK  # noqa: E402
from tests.helpers.dicom import ct_series  # noqa: E402

STATE = ROOT / ".testenv" / "bench"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fetch_token(idp: IdentityProvider) -> str:
    c = idp.client("orthanc")
    import base64

    auth = base64.b64encode(f"{c['client_id']}:{c['client_secret']}".encode()).decode()
    req = urllib.request.Request(idp.token_endpoint, data=b"grant_type=client_credentials&scope=dicom.read",
                                 headers={"Authorization": f"Basic {auth}",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return str(json.loads(r.read())["access_token"])


def upload_study(src: OrthancServer, instances: list[bytes]) -> str:
    first = src.upload(instances[0])
    for d in instances[1:]:
        src.upload(d)
    return str(src.get(f"/instances/{first}/study")["ID"])


def wait_jobs(src: OrthancServer, jobs: list[str]) -> None:
    pending = set(jobs)
    while pending:
        for j in list(pending):
            state = src.get(f"/jobs/{j}")["State"]
            if state == "Success":
                pending.discard(j)
            elif state in ("Failure", "Paused"):
                raise RuntimeError(f"job {j}: {state}")
        time.sleep(0.01)


def timed_stow(src: OrthancServer, study: str) -> float:
    # As a job polled every 10 ms: the synchronous call polls its own job every 100 ms,
    # which would quantise both sides of the comparison.
    t0 = time.perf_counter()
    wait_jobs(src, [src.post("/dicom-web/servers/remote/stow", {"Resources": [study], "Asynchronous": True})["ID"]])
    return time.perf_counter() - t0


def timed_retrieves(src: OrthancServer, uids: list[str], ids: list[str]) -> float:
    for i in ids:
        src.request("DELETE", f"/studies/{i}")
    # Asynchronous jobs, 4 at once (ConcurrentJobs 4): with Orthanc 1.10.1 and DICOMweb 1.7,
    # concurrent *synchronous* /retrieve calls drop some connections even with no Python
    # plugin loaded at all (measured), so the jobs API is the reliable way to run them in parallel.
    t0 = time.perf_counter()
    jobs = [src.post("/dicom-web/servers/remote/retrieve",
                     {"Resources": [{"Study": u}], "Asynchronous": True})["ID"] for u in uids]
    wait_jobs(src, jobs)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    idp = IdentityProvider(STATE, ttl=3600)
    idp.stop()
    idp.start()
    target = OrthancServer.target(STATE, "bench-target", idp.jwks_uri, DICOM_RESOURCE, idp.issuer)
    plugin = OrthancServer.source(
        STATE, "bench-plugin",
        {"Servers": {"remote": {"Url": f"{target.url}/dicom-web/", "TokenEndpoint": idp.token_endpoint,
                                "ClientId": "orthanc", "ClientSecret": "${BENCH_SECRET}",
                                "Scope": "dicom.read"}}, "AllowPrivateHosts": LOOPBACK},
        env={"BENCH_SECRET": idp.client("orthanc")["client_secret"]}, extra={"ConcurrentJobs": 4})
    servers = [target, plugin]
    try:
        target.stop()
        target.start()
        static = OrthancServer(STATE, "bench-static", {"DicomWeb": {"Servers": {"remote": {
            "Url": f"{target.url}/dicom-web/", "HttpHeaders": {"Authorization": f"Bearer {fetch_token(idp)}"}}}},
            "ConcurrentJobs": 4}, python_script=None)
        static.extra["Plugins"] = ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"]
        servers.append(static)
        for s in (plugin, static):
            s.stop()
            s.start()
        deadline = time.monotonic() + 10
        while not plugin.get("/dicomweb-oauth/status")["servers"]["remote"]["published"]:
            assert time.monotonic() < deadline, "plugin never defined the server"
            time.sleep(0.1)

        big = ct_series(50, size=512)  # 50 x 512 x 512 x 2 bytes ~ 25 MB
        size_mb = sum(len(d) for d in big) / 1e6
        studies = {s.name: upload_study(s, big) for s in (plugin, static)}
        parts = [ct_series(12, size=512) for _ in range(4)]  # 4 studies, ~25 MB in all
        retr_mb = sum(len(d) for p in parts for d in p) / 1e6
        uids, ids = [], []
        for p in parts:
            sid = upload_study(target, p)
            ids.append(sid)
            uids.append(target.get(f"/studies/{sid}")["MainDicomTags"]["StudyInstanceUID"])

        stow: dict[str, list[float]] = {"bench-plugin": [], "bench-static": []}
        retr: dict[str, list[float]] = {"bench-plugin": [], "bench-static": []}
        timed_stow(plugin, studies["bench-plugin"])  # warm-up both
        timed_stow(static, studies["bench-static"])
        for r in range(args.rounds):
            order = (plugin, static) if r % 2 == 0 else (static, plugin)
            for s in order:
                stow[s.name].append(timed_stow(s, studies[s.name]))
            for s in order:
                retr[s.name].append(timed_retrieves(s, uids, ids))

        print(f"Orthanc pair on loopback, {args.rounds} alternating rounds, medians")
        for label, data, mb in (("STOW 1 study", stow, size_mb), ("4 parallel retrieves", retr, retr_mb)):
            p, s = statistics.median(data["bench-plugin"]), statistics.median(data["bench-static"])
            print(f"{label:22s} {mb:5.1f} MB  plugin {p:6.2f} s ({mb / p:6.1f} MB/s)  "
                  f"static header {s:6.2f} s ({mb / s:6.1f} MB/s)  throughput ratio {s / p:.3f} (target >= 0.98)")
        pr, sr = rss_kib(plugin.process.pid or 0), rss_kib(static.process.pid or 0)
        print(f"RSS plugin Orthanc {pr / 1024:.1f} MiB, static Orthanc {sr / 1024:.1f} MiB: "
              f"the plugin (with the Python runtime) adds {(pr - sr) / 1024:.1f} MiB")
        seen = target.access_entries()
        print(f"target saw {len(seen)} DICOMweb requests, {sum(not e['ok'] for e in seen)} refused")
    finally:
        for s in servers:
            s.stop()
        idp.stop()


if __name__ == "__main__":
    main()
