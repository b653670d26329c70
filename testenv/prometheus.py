"""Debian's Prometheus on its own loopback port, data directory and configuration file."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Optional

from .process import ManagedProcess, free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


class PrometheusServer:
    def __init__(self, state_dir: Path, config: Optional[Path] = None, port: Optional[int] = None,
                 name: str = "prometheus") -> None:
        self.state_dir = Path(state_dir) / name
        self.port = port or free_port()
        self.config = config
        argv = [PROMETHEUS, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={self.state_dir / 'data'}", "--log.level=warn"]
        self.process = ManagedProcess("prometheus", self.state_dir, argv, ready=self._ready)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def start(self) -> PrometheusServer:
        if self.config is None:
            raise ValueError("a configuration file is needed to start Prometheus")
        shutil.rmtree(self.state_dir / "data", ignore_errors=True)  # a fresh TSDB every time
        self.process.start(timeout=30)
        return self

    def stop(self) -> None:
        self.process.stop()

    def running(self) -> bool:
        return self.process.running()

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus API {path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.api("targets")["activeTargets"]
        return active
