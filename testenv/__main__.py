"""Command line: start, stop or show the test components.

    python -m testenv start idp --state-dir .testenv [--port 18555] [--ttl 300]
    python -m testenv start redis --state-dir .testenv [--port 16379]
    python -m testenv status --state-dir .testenv
    python -m testenv stop all --state-dir .testenv   (also Prometheus, which tests start)

``start`` prints one JSON line describing the component (addresses, clients) and returns
once it is ready; ``stop`` stops by the PID in the state directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .idp import IdentityProvider
from .prometheus import PrometheusServer
from .redis_server import RedisServer


def _describe(comp: Any) -> dict[str, Any]:
    if isinstance(comp, IdentityProvider):
        return {"component": "idp", "running": comp.running(), "pid": comp.process.pid,
                "issuer": comp.issuer, "token_endpoint": comp.token_endpoint, "port": comp.port}
    if isinstance(comp, PrometheusServer):
        return {"component": "prometheus", "running": comp.running(), "pid": comp.process.pid}
    return {"component": "redis", "running": comp.running(), "pid": comp.process.pid,
            "url": comp.url, "port": comp.port}


def _saved_port(state_dir: Path, name: str) -> int | None:
    f = state_dir / name / "port"
    try:
        return int(f.read_text())
    except (OSError, ValueError):
        return None


def _make(name: str, state_dir: Path, args: argparse.Namespace) -> Any:
    port = getattr(args, "port", None) or _saved_port(state_dir, name)
    if name == "idp":
        return IdentityProvider(state_dir, port=port, ttl=getattr(args, "ttl", 300))
    if name == "prometheus":
        return PrometheusServer(state_dir, port=port)  # only stopped or shown here: tests start it
    return RedisServer(state_dir, port=port)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m testenv", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("component", nargs="?", default="all", choices=["idp", "redis", "prometheus", "all"])
    p.add_argument("--state-dir", type=Path, default=Path(".testenv"))
    p.add_argument("--port", type=int)
    p.add_argument("--ttl", type=int, default=300)
    args = p.parse_args(argv)
    if args.action == "start" and args.component == "prometheus":
        p.error("Prometheus needs a configuration: the tests start it (testenv.prometheus)")
    everything = ["idp", "redis"] if args.action == "start" else ["idp", "redis", "prometheus"]
    names = everything if args.component == "all" else [args.component]
    rc = 0
    for name in names:
        comp = _make(name, args.state_dir, args)
        if args.action == "start":
            if comp.running():
                print(json.dumps(_describe(comp)))
                continue
            comp.start()
            (args.state_dir / name / "port").write_text(str(comp.port))
        elif args.action == "stop":
            comp.stop()
        elif not comp.running():
            rc = 1
        print(json.dumps(_describe(comp)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
