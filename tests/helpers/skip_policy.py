"""A skipped test is a claim not checked: the run fails when a test is skipped, unless that skip
is listed with its reason in tests/allowed-skips.yml (DWO_ALLOWED_SKIPS names another list, for
the policy's own test). Loaded for every pytest run of this repository by the root conftest.py."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

DEFAULT_LIST = Path(__file__).resolve().parents[1] / "allowed-skips.yml"
_skipped: list[tuple[str, str]] = []


def allowed() -> list[dict[str, str]]:
    """The listed skips: each {test: node id or glob, reason: why it may be skipped}."""
    path = Path(os.environ.get("DWO_ALLOWED_SKIPS", DEFAULT_LIST))
    entries = yaml.safe_load(path.read_text()) or [] if path.exists() else []
    for e in entries:
        if not (isinstance(e, dict) and e.get("test") and len(str(e.get("reason", "")).strip()) >= 10):
            raise pytest.UsageError(f"{path}: every entry needs test: and a written reason: ({e!r})")
    return entries


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append((report.nodeid, _reason(report)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _skipped.append((report.nodeid, _reason(report)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    entries = allowed()
    unlisted = [(n, r) for n, r in _skipped if not any(fnmatch.fnmatch(n, e["test"]) for e in entries)]
    if not unlisted:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["skipped but not listed in tests/allowed-skips.yml (a skip is a claim not checked):"]
    lines += [f"  {node}: {reason}" for node, reason in unlisted]
    if reporter is not None:
        reporter.write_line("\n" + "\n".join(lines), red=True)
    if session.exitstatus == 0:
        session.exitstatus = 1
