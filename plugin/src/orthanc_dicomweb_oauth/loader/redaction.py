"""Keeping secrets and tokens out of logs, reprs and exception text.

Two layers: ``Secret`` wraps configured secrets so that printing a config object never shows
them, and the ``Redactor`` remembers every secret and token value the plugin has handled and
scrubs them (plus anything shaped like a bearer token or JWT) from log records, as a last line
of defence against a message that quotes a remote server's answer.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import re
import threading
import uuid
from collections import deque
from typing import Optional

MASK = "***"
_MIN_SECRET_LEN = 6
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_FIELD_RE = re.compile(
    r'(?i)("?(?:access_token|client_secret|password|assertion|refresh_token|id_token)"?\s*[=:]\s*"?)'
    r'[^"&,\s}]+'
)


class Secret:
    """A configured secret. ``str``/``repr`` never show it; ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        REDACTOR.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> str:
        raise TypeError("secrets are not picklable")


class Redactor:
    """Remembers sensitive values (bounded) and masks them in text."""

    def __init__(self, max_values: int = 256) -> None:
        self._lock = threading.Lock()
        self._values: deque[str] = deque(maxlen=max_values)

    def add(self, value: Optional[str]) -> None:
        if not value or len(value) < _MIN_SECRET_LEN:
            return
        with self._lock:
            if value not in self._values:
                self._values.append(value)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for v in values:
            if v in text:
                text = text.replace(v, MASK)
        text = _JWT_RE.sub(MASK, text)
        text = _BEARER_RE.sub(lambda m: m.group(1) + MASK, text)
        return _FIELD_RE.sub(lambda m: m.group(1) + MASK, text)


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """Formats the record once and replaces its text by the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string must not break logging
            text = str(record.msg)
        record.msg = REDACTOR.redact(text)
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback is rendered by the handler; keep only the redacted exception text.
            record.msg = f"{record.msg} ({REDACTOR.redact(repr(record.exc_info[1]))})"
            record.exc_info = None
            record.exc_text = None
        return True


LOGGER_NAME = "orthanc_dicomweb_oauth"
_LOGGER = logging.getLogger(LOGGER_NAME)
# A logger-level filter sees only records logged on this very logger, so the whole package
# logs through this one logger; the filter rewrites each record before any handler (the
# plugin's Orthanc handler, or a test's capture on the root logger) can see it.
_LOGGER.addFilter(RedactingFilter())


def get_logger() -> logging.Logger:
    return _LOGGER


def install_handler(handler: logging.Handler, level: int = logging.INFO) -> None:
    """Attach ``handler`` (e.g. one that forwards to Orthanc's log) to the package logger."""
    _LOGGER.addHandler(handler)
    _LOGGER.setLevel(level)


CORRELATION_ID: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    """Start a new correlation id for this thread's current unit of work and return it."""
    cid = uuid.uuid4().hex[:12]
    CORRELATION_ID.set(cid)
    return cid


def kv(event: str, **fields: object) -> str:
    """One structured log line: ``event key=value ... cid=<correlation id>`` (values are
    redacted by the logger's filter)."""
    parts = [event]
    fields.setdefault("cid", CORRELATION_ID.get())
    for k, v in fields.items():
        if v is None:
            continue
        s = str(v)
        parts.append(f"{k}={s!r}" if (" " in s or not s) else f"{k}={s}")
    return " ".join(parts)
