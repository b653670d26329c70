"""Several processes (simulated Orthanc nodes) sharing one Redis: one token request per refresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.config import ENC_KEY, LOOPBACK, server_section

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[2]


def run_nodes(tmp_path: Path, idp, redis_url: str, nodes: int, seconds: float) -> list[dict]:
    section = {"Servers": {"remote": server_section(idp)}, "AllowPrivateHosts": LOOPBACK,
               "Cache": {"Backend": "redis", "RedisUrl": redis_url, "EncryptionKey": ENC_KEY,
                         "LockTimeoutSeconds": 5}}
    cfg = tmp_path / "node.json"
    cfg.write_text(json.dumps(section))
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'plugin' / 'src'}:{ROOT}"}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.helpers.node_worker", str(cfg), str(seconds)],
                              stdout=subprocess.PIPE, cwd=ROOT, env=env) for _ in range(nodes)]
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        assert p.returncode == 0
        outs.append(json.loads(out))
    return outs


def test_two_processes_one_request_per_refresh(tmp_path, idp, redis_server):
    idp.set_ttl(6)  # refresh every 3 s (half the lifetime, as the buffer is larger)
    outs = run_nodes(tmp_path, idp, redis_server.url, nodes=2, seconds=14)
    a, b = (set(o["tokens"]) for o in outs)
    assert outs[0]["failures"] == outs[1]["failures"] == 0
    union = a | b
    requests = idp.token_requests()
    assert requests == len(union), f"{requests} token requests for {len(union)} distinct tokens"
    assert len(union) >= 4  # cold start + >= 3 refreshes
    assert len(a & b) >= len(union) - 1, "the nodes did not share their tokens"
