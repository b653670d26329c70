"""A child process with a PID file, a readiness check and stop-by-PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Optional


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


class ManagedProcess:
    def __init__(self, name: str, state_dir: Path, argv: Sequence[str],
                 ready: Callable[[], bool], cwd: Optional[Path] = None,
                 env: Optional[dict[str, str]] = None) -> None:
        self.name = name
        self.state_dir = Path(state_dir)
        self.argv = list(argv)
        self.ready = ready
        self.cwd = cwd
        self.env = env
        self.pid_file = self.state_dir / f"{name}.pid"
        self.log_file = self.state_dir / f"{name}.log"
        self._proc: Optional[subprocess.Popen[bytes]] = None
        # How the process ended when this object started and stopped it (None otherwise).
        self.returncode: Optional[int] = None

    @property
    def pid(self) -> Optional[int]:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None  # keeps the exit status, which waitpid would take
        return pid is not None and pid_alive(pid)

    def start(self, timeout: float = 20.0) -> None:
        if self.running():
            raise RuntimeError(f"{self.name} already running with pid {self.pid}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file, "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=self.cwd, env=self.env, start_new_session=True)
        log.close()
        self._proc, self.returncode = proc, None
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {proc.returncode}; see {self.log_file}:\n"
                                   + self.log_tail())
            if self.ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout} s; see {self.log_file}:\n" + self.log_tail())

    def stop(self, timeout: float = 10.0) -> None:
        pid = self.pid
        if pid is None:
            return
        if self._proc is not None and self._proc.pid == pid:
            self._stop_child(self._proc, timeout)
            return
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                while pid_alive(pid):
                    time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def _stop_child(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        """Our own child: stopped the same way, and its exit status kept."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.returncode = proc.returncode
        self._proc = None
        self.pid_file.unlink(missing_ok=True)

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""
