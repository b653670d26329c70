"""Data-path benchmark (SPEC section 6): the plugin must not slow Orthanc's DICOMweb transfers.

Four sources send to the same protected target Orthanc in the same run:
- "static": Orthanc without the Python plugin, a bearer token written once as a static
  ``HttpHeaders`` entry in ``DicomWeb.Servers`` (the limit: nothing can be faster);
- "python": the same, with orthanc-python loaded and running an empty script
  (``bench/fixtures/empty_plugin.py``): what loading the Python plugin costs by itself;
- "plugin": Orthanc + this plugin, the bearer header set by the plugin (header injection);
- "peer": the mechanism of the older plugin and other peers, a Python route in the source
  Orthanc that adds the header and forwards every request and answer
  (``bench/fixtures/peer_proxy.py``, a fixture, never shipped).
Measured: STOW of one large study (800 MB by default, many instances) and 4 parallel retrieves
of 4 studies (1.2 GB in all), large enough that Orthanc's job floor (about 0.5 s per job here,
measured in the same run with a one-instance study) is a small part of each job. The job's time
moves in steps of Orthanc's job polling, so the ratios come from the data path's time read in
Orthanc's own logs: for a STOW, the request's arrival at the target to the last instance the
target stored (the target is emptied of the study first); for the retrieves, the first request's
arrival at the target to the last instance the source stored. Rounds
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
EMPTY_SCRIPT = ROOT / "bench" / "fixtures" / "empty_plugin.py"
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
    # The static header again, with orthanc-python loaded and doing nothing: what loading the
    # Python plugin costs, apart from what this plugin's code does.
    python = OrthancServer(STATE, "bench-python", {"DicomWeb": {"Servers": {"remote": {
        "Url": f"{target.url}/dicom-web/", "HttpHeaders": {"Authorization": f"Bearer {token}"}}}},
        "ConcurrentJobs": 4}, python_script=EMPTY_SCRIPT)
    sources = {"static": static, "python": python, "plugin": plugin, "peer": peer}
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


def _log_lines(server: OrthancServer, offset: int) -> list[str]:
    with open(server.process.log_file, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace").splitlines()


def _first(lines: list[str], text: str) -> Optional[float]:
    return next((_seconds(x) for x in lines if text in x), None)


def _last_stored(lines: list[str]) -> Optional[float]:
    return next((_seconds(x) for x in reversed(lines) if "ServerContext.cpp" in x and "tored" in x), None)


def _span(start: Optional[float], end: Optional[float]) -> float:
    return end - start if start is not None and end is not None else float("nan")


def log_offsets(*servers: OrthancServer) -> list[int]:
    return [s.process.log_file.stat().st_size for s in servers]


def timed_new_stow(source: OrthancServer, target: OrthancServer, study: str) -> tuple[float, float]:
    """A STOW of a study the target does not have (removed first; an Orthanc study id is the
    same on every Orthanc): (the job's seconds, the data path's seconds from the target's log:
    the STOW request's arrival to the last instance stored; Orthanc --verbose logs both to the
    microsecond, where the job's time moves in steps of its polling)."""
    target.request("DELETE", f"/studies/{study}")
    (offset,) = log_offsets(target)
    seconds = timed_stow(source, study)
    lines = _log_lines(target, offset)
    return seconds, _span(_first(lines, "(http) POST /dicom-web/studies"), _last_stored(lines))


def timed_new_retrieves(source: OrthancServer, target: OrthancServer, uids: list[str], ids: list[str]
                        ) -> tuple[float, float]:
    """(the jobs' seconds, the data path's seconds: the first request's arrival at the target to
    the last instance the source stored, from both logs on this machine's clock)."""
    t_off, s_off = log_offsets(target, source)
    seconds = timed_retrieves(source, uids, ids)
    start = _first(_log_lines(target, t_off), "(http) GET /dicom-web/studies/")
    return seconds, _span(start, _last_stored(_log_lines(source, s_off)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--stow-mb", type=float, default=800)
    ap.add_argument("--retrieve-mb", type=float, default=1200)
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
        # job seconds and data-path seconds (from the logs) per source
        stow: dict[str, list[float]] = {n: [] for n in names}
        stow_path: dict[str, list[float]] = {n: [] for n in names}
        retr: dict[str, list[float]] = {n: [] for n in names}
        retr_path: dict[str, list[float]] = {n: [] for n in names}
        floor = [timed_stow(sources["static"], tiny["static"]) for _ in range(5)]
        for n, s in sources.items():
            timed_stow(s, studies[n])  # warm-up
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                seconds, path = timed_new_stow(sources[n], target, studies[n])
                stow[n].append(seconds)
                stow_path[n].append(path)
            for n in order:
                seconds, path = timed_new_retrieves(sources[n], target, uids, ids)
                retr[n].append(seconds)
                retr_path[n].append(path)
        report(args, sources, target, statistics.median(floor),
               [("STOW 1 study", size_mb, stow, stow_path), ("4 parallel retrieves", retr_mb, retr, retr_path)])
    finally:
        for s in sources.values():
            s.stop()
        target.stop()
        idp.stop()


Series = dict[str, list[float]]


def report(args: argparse.Namespace, sources: dict[str, OrthancServer], target: OrthancServer, floor: float,
           rows: list[tuple[str, float, Series, Series]]) -> None:
    print(f"Orthanc pair on loopback, {args.rounds} rotating rounds, medians; job floor (STOW of one small "
          f"instance) {floor:.2f} s. The data path's seconds come from Orthanc's own logs (microseconds), the "
          "job's from polling it (steps of about 0.5 s)")
    for label, mb, jobs, path in rows:
        base, base_job = statistics.median(path["static"]), statistics.median(jobs["static"])
        print(f"{label} ({mb:.0f} MB): the floor is {100 * floor / base_job:.0f} % of the static header's job")
        for n in sources:
            t, j = statistics.median(path[n]), statistics.median(jobs[n])
            print(f"  {n:7s} data path {t:6.2f} s {mb / t:6.1f} MB/s, throughput vs static header {base / t:.3f}"
                  f"  (job {j:5.2f} s, {base_job / j:.3f})")
        print(f"  plugin/static {base / statistics.median(path['plugin']):.3f} (target >= 0.98), plugin/python "
              f"{statistics.median(path['python']) / statistics.median(path['plugin']):.3f}; the plugin is "
              f"{statistics.median(path['peer']) / statistics.median(path['plugin']):.2f}x as fast as the peer "
              "mechanism")
    for n, s in sources.items():
        pid = s.process.pid or 0
        print(f"  memory {n:7s} Orthanc: peak {memory_kib(pid, 'VmHWM') / 1024:.0f} MiB, now "
              f"{memory_kib(pid) / 1024:.0f} MiB")
    seen = target.access_entries()
    print(f"  target saw {len(seen)} DICOMweb requests, {sum(not e['ok'] for e in seen)} refused")


if __name__ == "__main__":
    main()
