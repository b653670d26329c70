"""What the TLS front costs (docs/tls.md). Prints figures; asserts nothing.

A real Orthanc (this machine's, with DICOMweb) and the tls_front role's own nginx.conf (rendered
from the role, run by this machine's nginx on loopback with a test certificate). The same client
sends a STOW-RS of a synthetic study (one multipart request) and retrieves it (WADO-RS, one
multipart answer), straight to Orthanc over http and through the front over https (HTTP/1.1,
certificate verified), alternating, several rounds; the direct run is the baseline measured in
the same run, and the ratios are front / direct of the median times.

Run: ``make bench`` (or ``.venv/bin/python bench/tls_front.py [MB] [rounds]``).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugin" / "src"), str(ROOT)]

import requests  # noqa: E402

from testenv.orthanc import OrthancServer  # noqa: E402
from testenv.process import free_port  # noqa: E402
from testenv.tls import self_signed  # noqa: E402
from tests.helpers.dicom import ct_series, multipart  # noqa: E402
from tests.helpers.tls_front import RoleFront  # noqa: E402

AUTH = ("bench", "bench-password-7f3a9c")


def study(megabytes: int) -> tuple[bytes, str]:
    """One multipart STOW body of 512 x 512 CT slices (0.5 MB each) adding up to ``megabytes``."""
    return multipart(ct_series(max(1, megabytes * 2), size=512))


def one_round(base: str, verify: object, body: bytes, ctype: str) -> tuple[float, float, int]:
    s = requests.Session()
    s.auth, s.verify, s.trust_env = AUTH, verify, False
    t0 = time.perf_counter()
    r = s.post(f"{base}/dicom-web/studies", data=body, headers={"Content-Type": ctype}, timeout=600)
    stow = time.perf_counter() - t0
    r.raise_for_status()
    uid = r.json()["00081190"]["Value"][0].rsplit("/studies/", 1)[1]
    t0 = time.perf_counter()
    got = s.get(f"{base}/dicom-web/studies/{uid}", headers={"Accept": "multipart/related; type=application/dicom"},
                timeout=600, stream=True)
    size = sum(len(c) for c in got.iter_content(1 << 20))
    wado = time.perf_counter() - t0
    s.delete(f"{base}/studies/{_orthanc_id(s, base, uid)}", timeout=120)
    return stow, wado, size


def _orthanc_id(s: requests.Session, base: str, uid: str) -> str:
    return str(s.post(f"{base}/tools/lookup", data=uid, timeout=60).json()[0]["ID"])


def main() -> int:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    tmp = Path(tempfile.mkdtemp(prefix="dwo-bench-front-"))
    orthanc = OrthancServer(tmp, "bench-front", {}, credentials=AUTH).start()
    try:
        cert, key = self_signed(tmp / "tls", "front", ("127.0.0.1",))
        port = free_port()
        variables = {"tls_front_addresses": ["127.0.0.1"], "tls_front_port": port,
                     "tls_front_upstream_port": orthanc.port, "tls_front_server_names": ["127.0.0.1"],
                     "tls_front_certificate_file": cert, "tls_front_private_key_file": key}
        body, ctype = study(megabytes)
        with RoleFront(tmp, variables):
            paths = {"direct": (orthanc.url, True), "front": (f"https://127.0.0.1:{port}", cert)}
            one_round(*paths["direct"], body, ctype)  # warm-up: Orthanc's caches and database
            times: dict[str, list[tuple[float, float, int]]] = {"direct": [], "front": []}
            for _ in range(rounds):
                for name, (base, verify) in paths.items():
                    times[name].append(one_round(base, verify, body, ctype))
        mb = len(body) / 1e6
        med = {n: (statistics.median(t[0] for t in v), statistics.median(t[1] for t in v))
               for n, v in times.items()}
        print(f"TLS front vs direct, {mb:.0f} MB study (STOW one request, WADO one answer), {rounds} rounds each, "
              "medians:")
        for name in ("direct", "front"):
            stow, wado = med[name]
            print(f"  {name:6s}  STOW {stow:6.2f} s ({mb / stow:6.1f} MB/s)   "
                  f"WADO {wado:6.2f} s ({mb / wado:6.1f} MB/s)")
        print(f"  ratio front/direct: STOW {med['front'][0] / med['direct'][0]:.2f}, "
              f"WADO {med['front'][1] / med['direct'][1]:.2f}")
    finally:
        orthanc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
