"""Token manager benchmarks (SPEC section 6). Prints figures; asserts nothing.

- cached read: p50/p99 of ``get_token()`` on a warm cache, in microseconds, next to a baseline
  measured in the same run (a bare ``dict.get`` through the same timing loop), and their ratio;
- 200 concurrent cold callers: token requests counted by the real OpenID provider;
- 3 node processes sharing one Redis for several refreshes: token requests per refresh.

Starts its own OpenID provider and Redis (loopback) and stops them at the end.
Run: ``make bench`` (or ``.venv/bin/python bench/token_cache.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugin" / "src"), str(ROOT)]

from orthanc_dicomweb_oauth.loader.config import load_config  # noqa: E402
from orthanc_dicomweb_oauth.runtime.metrics import Metrics  # noqa: E402
from orthanc_dicomweb_oauth.runtime.token_manager import build_managers  # noqa: E402
from testenv import IdentityProvider, RedisServer  # noqa: E402
from tests.helpers.config import ENC_KEY, LOOPBACK, server_section  # noqa: E402

STATE = ROOT / ".testenv" / "bench"
READS = 200_000


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    s = sorted(samples_ns)
    return s[len(s) // 2] / 1000, s[int(len(s) * 0.99)] / 1000


def timed(fn, n: int) -> list[int]:
    clock = time.perf_counter_ns
    out = [0] * n
    for i in range(n):
        t0 = clock()
        fn()
        out[i] = clock() - t0
    return out


def cached_read(idp: IdentityProvider) -> None:
    m = build_managers(load_config({"Servers": {"remote": server_section(idp)}, "AllowPrivateHosts": LOOPBACK},
                                   environ={}), Metrics())["remote"]
    m.get_token()
    baseline_map = {"remote": "x"}
    base = timed(lambda: baseline_map.get("remote"), READS)
    reads = timed(m.get_token, READS)
    b50, b99 = percentiles(base)
    r50, r99 = percentiles(reads)
    print(f"cached read        p50 {r50:.2f} us  p99 {r99:.2f} us  (target p50 <= 5 us)")
    print(f"baseline dict.get  p50 {b50:.2f} us  p99 {b99:.2f} us  ratio p50 {r50 / b50:.1f}x")


def cold_callers(idp: IdentityProvider, n: int = 200) -> None:
    idp.reset()
    m = build_managers(load_config({"Servers": {"remote": server_section(idp)}, "AllowPrivateHosts": LOOPBACK},
                                   environ={}), Metrics())["remote"]
    barrier = threading.Barrier(n)
    waits: list[float] = []

    def call() -> None:
        barrier.wait()
        t0 = time.perf_counter()
        m.get_token()
        waits.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=call) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{n} cold callers   token requests {idp.token_requests()} (target 1); "
          f"slowest caller {max(waits) * 1000:.1f} ms")


def cluster(idp: IdentityProvider, redis: RedisServer, nodes: int = 3, seconds: float = 13) -> None:
    idp.reset()
    idp.set_ttl(6)
    section = {"Servers": {"remote": server_section(idp)}, "AllowPrivateHosts": LOOPBACK,
               "Cache": {"Backend": "redis", "RedisUrl": redis.url, "EncryptionKey": ENC_KEY}}
    cfg = STATE / "node.json"
    cfg.write_text(json.dumps(section))
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'plugin' / 'src'}:{ROOT}"}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.helpers.node_worker", str(cfg), str(seconds)],
                              stdout=subprocess.PIPE, cwd=ROOT, env=env) for _ in range(nodes)]
    outs = [json.loads(p.communicate(timeout=seconds + 60)[0]) for p in procs]
    tokens: set[str] = set().union(*(o["tokens"] for o in outs))
    requests = idp.token_requests()
    refreshes = len(tokens) - 1
    failures = sum(o["failures"] for o in outs)
    reads = sum(o["reads"] for o in outs)
    per = (requests - 1) / refreshes if refreshes else float("nan")
    print(f"{nodes} nodes + Redis   {requests} token requests for {len(tokens)} tokens "
          f"(1 cold start + {refreshes} refreshes): {per:.2f} requests per refresh (target 1); "
          f"{failures} failed of {reads} reads")
    idp.set_ttl(300)


def main() -> None:
    idp = IdentityProvider(STATE)
    redis = RedisServer(STATE)
    idp.stop()
    redis.stop()
    idp.start()
    redis.start()
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
        cached_read(idp)
        cold_callers(idp)
        cluster(idp, redis)
    finally:
        idp.stop()
        redis.stop()


if __name__ == "__main__":
    main()
