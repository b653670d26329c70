"""A secret kept in a file, read again whenever the file changes.

Orthanc reads its configuration and its environment once, at start; a client secret given
there can only change with a restart. A secret in a file (``ClientSecretFile``) is read at start
and again at the first use after the file changed (another inode, size or modification time:
Ansible's copy replaces the file by renaming a new one over it), so a rotated secret reaches the
next token request while Orthanc keeps serving."""

from __future__ import annotations

import os
import stat
import threading
from typing import Optional

from .errors import OAuthPluginError
from .redaction import REDACTOR, Secret, get_logger, kv

_log = get_logger()


def file_errors(path: str, key: str, server: str) -> list[OAuthPluginError]:
    """Why ``path`` cannot hold a secret: unreadable (CFG-009), or readable by every user
    (SEC-010). Empty when it can."""
    if not os.access(path, os.R_OK):
        return [OAuthPluginError("CFG-009", f"{key} {path} is not a readable file", server=server, key=key)]
    if os.stat(path).st_mode & stat.S_IROTH:
        return [OAuthPluginError("SEC-010", f"{key} {path} is readable by every user", server=server, key=key)]
    return []


class SecretFile(Secret):
    """``reveal()`` gives the file's current content (without the final newline); a file that
    vanished or became empty keeps the last value, so a half-done replacement never sends an
    empty secret."""

    __slots__ = ("_lock", "_path", "_stamp", "server")

    def __init__(self, path: str, server: str = "") -> None:
        self._stamp: Optional[tuple[int, int, int]] = None
        self._path, self._lock, self.server = path, threading.Lock(), server
        super().__init__("")
        self._value = self._read(os.stat(path))

    def _read(self, st: os.stat_result) -> str:
        with open(self._path, encoding="utf-8") as f:
            value = f.read().rstrip("\r\n")
        REDACTOR.add(value)
        self._stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        return value

    def reveal(self) -> str:
        try:
            st = os.stat(self._path)
        except OSError:
            return self._value
        if (st.st_ino, st.st_mtime_ns, st.st_size) == self._stamp:
            return self._value
        with self._lock:
            try:
                value = self._read(st)
            except OSError:
                return self._value
            if value and value != self._value:
                self._value = value
                _log.info(kv("secret.reloaded", server=self.server, file=self._path))
        return self._value

    @property
    def path(self) -> Optional[str]:
        return self._path

    def __repr__(self) -> str:
        return f"SecretFile({self._path!r})"

    __str__ = __repr__
