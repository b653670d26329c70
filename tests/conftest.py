"""Fixtures for the real components. Session-wide processes, reset to a clean state for every
test; whatever happens, they are stopped by PID at the end of the session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testenv import IdentityProvider, RedisServer

STATE_DIR = Path(os.environ.get("TESTENV_STATE_DIR", Path(__file__).resolve().parent.parent / ".testenv" / "pytest"))


@pytest.fixture(scope="session")
def _idp_session() -> Iterator[IdentityProvider]:
    idp = IdentityProvider(STATE_DIR)
    idp.stop()  # a leftover from an interrupted run
    idp.start()
    try:
        yield idp
    finally:
        idp.stop()


@pytest.fixture
def idp(_idp_session: IdentityProvider) -> Iterator[IdentityProvider]:
    """The real OpenID provider: running, healthy, counters at zero, 300 s tokens."""
    if not _idp_session.running():
        _idp_session.start()
    _idp_session.heal()
    _idp_session.set_ttl(300)
    _idp_session.reset()
    yield _idp_session
    if _idp_session.running():
        _idp_session.heal()


@pytest.fixture(scope="session")
def _redis_session() -> Iterator[RedisServer]:
    r = RedisServer(STATE_DIR)
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def redis_server(_redis_session: RedisServer) -> Iterator[RedisServer]:
    """Real redis-server on its own loopback port, emptied for each test."""
    import redis

    if not _redis_session.running():
        _redis_session.start()
    redis.Redis.from_url(_redis_session.url).flushall()
    yield _redis_session


# Figures that tests measure (recovery times, request counts, scenario durations), printed in a
# section of their own at the end of the run: pytest -q would hide a passing test's output.
FIGURES: list[str] = []


def report(text: str) -> None:
    """Record a measured figure for the run's summary (and show it with -s too)."""
    FIGURES.append(text.strip())
    print("\n" + text.strip())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("measured figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Session fixtures are torn down by now: any component still alive is a leak."""
    from testenv.process import pid_alive

    leaked = []
    for pid_file in STATE_DIR.rglob("*.pid"):
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            continue
        if pid_alive(pid):
            leaked.append(f"{pid_file} (pid {pid})")
    if leaked:
        print("\nLEFT RUNNING after the tests: " + ", ".join(leaked))
        session.exitstatus = 1
