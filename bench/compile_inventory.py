"""Compile-and-lint benchmark (SPEC section 6): a generated 1,000-host inventory through the
offline command, as a user's CI would run it. Prints seconds (target < 5) and hosts/s.

Run: ``make bench`` (or ``.venv/bin/python bench/compile_inventory.py [--hosts N]``)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GROUP_VARS = """orthanc_users:
  admin: "{{ lookup('dicomweb_oauth.orthanc.vault_kv', 'orthanc/admin', key='password') }}"
orthanc_dicomweb_oauth:
  Servers:
    pacs:
      Url: https://pacs.example.org/dicom-web
      Issuer: https://sso.example.org/realms/imaging
      ClientId: orthanc
      ClientSecret: "{{ lookup('dicomweb_oauth.orthanc.vault_kv', 'orthanc/pacs', key='client_secret') }}"
      Scope: dicom.read dicom.write
  RateLimit:
    Requests: 10
    WindowSeconds: 60
"""


def write_inventory(directory: Path, hosts: int) -> Path:
    """An inventory of ``hosts`` hosts in 10 site groups, with group and host variables."""
    (directory / "group_vars").mkdir(parents=True, exist_ok=True)
    (directory / "host_vars").mkdir(exist_ok=True)
    (directory / "group_vars" / "orthanc.yml").write_text(GROUP_VARS)
    lines = ["all:", "  children:", "    orthanc:", "      children:"]
    for site in range(10):
        lines += [f"        site{site}:", "          hosts:"]
        lines += [f"            orthanc-{site}-{i}.example.org:" for i in range(site, hosts, 10)]
        (directory / "group_vars" / f"site{site}.yml").write_text(f"orthanc_dicom_aet: SITE{site}\n")
    for i in range(0, hosts, 50):
        name = f"orthanc-{i % 10}-{i}.example.org"
        (directory / "host_vars" / f"{name}.yml").write_text(f"orthanc_name: node-{i}\n")
    inv = directory / "hosts.yml"
    inv.write_text("\n".join(lines) + "\n")
    return inv


def run_lint(inv: Path, out_dir: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds and peak RSS (MiB) of one offline lint run, process start included."""
    code = ("import resource, runpy, sys; sys.argv = sys.argv[1:]\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "finally:\n    print('peak_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "bin" / "orthanc-config-lint.py"), "-i", str(inv),
                          "--output-dir", str(out_dir)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = next((int(line.split()[1]) for line in out.stderr.splitlines() if line.startswith("peak_kib")), 0)
    return wall, peak / 1024, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    args = ap.parse_args()
    results = []
    for hosts in args.hosts:
        with tempfile.TemporaryDirectory() as d:
            inv = write_inventory(Path(d), hosts)
            wall, peak, out = run_lint(inv, Path(d) / "out")
        summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-300:]
        target = 5 * hosts / 1000
        results.append((hosts, wall, peak))
        print(f"compile + lint {hosts} hosts (10 groups, host vars every 50): {wall:.2f} s wall (target < "
              f"{target:.0f} s), {hosts / wall:.0f} hosts/s, peak RSS {peak:.0f} MiB; exit {out.returncode}; {summary}")
    if len(results) > 1:
        (h0, w0, m0), (h1, w1, m1) = results[0], results[-1]
        print(f"growth {h0} -> {h1} hosts ({h1 / h0:.0f}x): time {w1 / w0:.1f}x, peak memory {m1 / m0:.1f}x "
              "(linear would be at most the host ratio)")


if __name__ == "__main__":
    main()
