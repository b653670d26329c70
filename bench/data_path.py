"""Data-path benchmark (SPEC section 6): the plugin must not slow Orthanc's DICOMweb transfers.

Three sources send to the same protected target Orthanc in the same run:
- "static": Orthanc without the Python plugin, a bearer token written once as a static
  ``HttpHeaders`` entry in ``DicomWeb.Servers`` (the limit: nothing can be faster);
- "plugin": Orthanc + this plugin, the bearer header set by the plugin (header injection);
- "peer": the mechanism of the older plugin and other peers, a Python route in the source
  Orthanc that adds the header and forwards every request and answer
  (``bench/fixtures/peer_proxy.py``, a fixture, never shipped).
Measured: STOW of one large study (300 MB by default, many instances) and 4 parallel retrieves
of 4 studies (200 MB in all), large enough that Orthanc's job floor (about 0.5 s per job here,
measured in the same run with a one-instance study) is a small part of each time; plus the time
the target spends receiving (its own log: the STOW request's arrival to the last instance stored;
the target is emptied of the study before each STOW). Rounds
alternate between the sources and the median is kept. Printed: seconds, MB/s, each source's
throughput against the static header (target for the plugin >= 0.98), and each Orthanc's peak
and current memory.

Run: ``make bench`` (or ``.venv/bin/python bench/data_path.py [--rounds N] [--stow-mb MB]``).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugin" / "src"), str(ROOT)]

from testenv import IdentityProvider  # noqa: E402
from testenv.idp import DICOM_RESOURCE  # noqa: E402
from testenv.orthanc import OrthancServer  # noqa: E402
from testenv.process import free_port  # noqa: E402
from tests.helpers.config import LOOPBACK  # noqa: E402
from tests.helpers.dicom import ct_series  # noqa: E402

STATE = ROOT / ".testenv" / "bench"
PEER_SCRIPT = ROOT / "bench" / "fixtures" / "peer_proxy.py"
INSTANCE_MB = 512 * 512 * 2 / 1e6  # one 512 x 512 16-bit CT slice


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """VmRSS (now) or VmHWM (peak) of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
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


def start_sources(idp: IdentityProvider, target: OrthancServer) -> dict[str, OrthancServer]:
    token = fetch_token(idp)
    plugin = OrthancServer.source(
        STATE, "bench-plugin",
        {"Servers": {"remote": {"Url": f"{target.url}/dicom-web/", "TokenEndpoint": idp.token_endpoint,
                                "ClientId": "orthanc", "ClientSecret": "${BENCH_SECRET}",
                                "Scope": "dicom.read"}}, "AllowPrivateHosts": LOOPBACK},
        env={"BENCH_SECRET": idp.client("orthanc")["client_secret"]}, extra={"ConcurrentJobs": 4})
    static = OrthancServer(STATE, "bench-static", {"DicomWeb": {"Servers": {"remote": {
        "Url": f"{target.url}/dicom-web/", "HttpHeaders": {"Authorization": f"Bearer {token}"}}}},
        "ConcurrentJobs": 4, "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"]}, python_script=None)
    peer_port = free_port()
    peer = OrthancServer(STATE, "bench-peer", {
        "DicomWeb": {"Servers": {"remote": {"Url": f"http://127.0.0.1:{peer_port}/peer-proxy/"}}},
        "PeerProxy": {"Target": f"{target.url}/dicom-web/", "Token": token}, "ConcurrentJobs": 4},
        python_script=PEER_SCRIPT, port=peer_port)
    sources = {"static": static, "plugin": plugin, "peer": peer}
    for s in sources.values():
        s.stop()
        s.start()
    deadline = time.monotonic() + 10
    while not plugin.get("/dicomweb-oauth/status")["servers"]["remote"]["published"]:
        assert time.monotonic() < deadline, "plugin never defined the server"
        time.sleep(0.1)
    return sources


LOG_TIME = re.compile(r"^[IWE]\d{4} (\d\d):(\d\d):(\d\d\.\d+) ")


def _seconds(line: str) -> Optional[float]:
    m = LOG_TIME.match(line)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None


def target_receiving(target: OrthancServer, offset: int) -> float:
    """From the target's own log since ``offset``: seconds from the first STOW request's arrival to
    the last instance it stored (Orthanc --verbose logs both)."""
    with open(target.process.log_file, "rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    start = next((_seconds(x) for x in lines if "(http) POST /dicom-web/studies" in x), None)
    ends = [_seconds(x) for x in lines if "ServerContext.cpp" in x and "tored" in x]
    end = next((e for e in reversed(ends) if e is not None), None)
    return end - start if start is not None and end is not None else float("nan")


def timed_new_stow(source: OrthancServer, target: OrthancServer, study: str) -> tuple[float, float]:
    """A STOW of a study the target does not have (removed first; an Orthanc study id is the
    same on every Orthanc): (seconds, the target's receiving seconds)."""
    target.request("DELETE", f"/studies/{study}")
    offset = target.process.log_file.stat().st_size
    seconds = timed_stow(source, study)
    return seconds, target_receiving(target, offset)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stow-mb", type=float, default=300)
    ap.add_argument("--retrieve-mb", type=float, default=200)
    args = ap.parse_args()

    idp = IdentityProvider(STATE, ttl=3600)
    idp.stop()
    idp.start()
    target = OrthancServer.target(STATE, "bench-target", idp.jwks_uri, DICOM_RESOURCE, idp.issuer)
    sources: dict[str, OrthancServer] = {}
    try:
        target.stop()
        target.start()
        sources = start_sources(idp, target)
        big = ct_series(max(1, round(args.stow_mb / INSTANCE_MB)), size=512)
        size_mb = sum(len(d) for d in big) / 1e6
        studies = {n: upload_study(s, big) for n, s in sources.items()}
        del big
        tiny = {n: upload_study(s, ct_series(1)) for n, s in sources.items()}
        per_study = max(1, round(args.retrieve_mb / 4 / INSTANCE_MB))
        uids, ids, retr_mb = [], [], 0.0
        for _ in range(4):
            part = ct_series(per_study, size=512)
            retr_mb += sum(len(d) for d in part) / 1e6
            sid = upload_study(target, part)
            ids.append(sid)
            uids.append(target.get(f"/studies/{sid}")["MainDicomTags"]["StudyInstanceUID"])

        names = list(sources)
        stow: dict[str, list[float]] = {n: [] for n in names}
        recv: dict[str, list[float]] = {n: [] for n in names}
        retr: dict[str, list[float]] = {n: [] for n in names}
        floor = [timed_stow(sources["static"], tiny["static"]) for _ in range(5)]
        for n, s in sources.items():
            timed_stow(s, studies[n])  # warm-up
        for r in range(args.rounds):
            order = names[r % 3:] + names[:r % 3]
            for n in order:
                seconds, receiving = timed_new_stow(sources[n], target, studies[n])
                stow[n].append(seconds)
                recv[n].append(receiving)
            for n in order:
                retr[n].append(timed_retrieves(sources[n], uids, ids))
        report(args, sources, target, size_mb, retr_mb, statistics.median(floor), stow, recv, retr)
    finally:
        for s in sources.values():
            s.stop()
        target.stop()
        idp.stop()


def report(args: argparse.Namespace, sources: dict[str, OrthancServer], target: OrthancServer, size_mb: float,
           retr_mb: float, floor: float, stow: dict[str, list[float]], recv: dict[str, list[float]],
           retr: dict[str, list[float]]) -> None:
    print(f"Orthanc pair on loopback, {args.rounds} rotating rounds, medians; job floor (STOW of one small "
          f"instance) {floor:.2f} s")
    for label, data, mb in (("STOW 1 study", stow, size_mb), ("4 parallel retrieves", retr, retr_mb)):
        base = statistics.median(data["static"])
        print(f"{label} ({mb:.0f} MB): the floor is {100 * floor / base:.0f} % of the static header's time")
        for n in sources:
            t = statistics.median(data[n])
            extra = f", target receiving {statistics.median(recv[n]):.2f} s" if data is stow else ""
            print(f"  {n:7s} {t:7.2f} s {mb / t:7.1f} MB/s  throughput vs static header {base / t:.3f}{extra}")
    def ratio(data: dict[str, list[float]], a: str, b: str) -> float:
        return statistics.median(data[a]) / statistics.median(data[b])

    print(f"  plugin/static (target >= 0.98): STOW {ratio(stow, 'static', 'plugin'):.3f}, retrieve "
          f"{ratio(retr, 'static', 'plugin'):.3f}; the plugin is {ratio(stow, 'peer', 'plugin'):.2f}x (STOW) and "
          f"{ratio(retr, 'peer', 'plugin'):.2f}x (retrieve) as fast as the peer mechanism")
    for n, s in sources.items():
        pid = s.process.pid or 0
        print(f"  memory {n:7s} Orthanc: peak {memory_kib(pid, 'VmHWM') / 1024:.0f} MiB, now "
              f"{memory_kib(pid) / 1024:.0f} MiB")
    seen = target.access_entries()
    print(f"  target saw {len(seen)} DICOMweb requests, {sum(not e['ok'] for e in seen)} refused")


if __name__ == "__main__":
    main()
