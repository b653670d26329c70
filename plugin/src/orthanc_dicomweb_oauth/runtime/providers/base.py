"""What every provider returns and the interface the token manager calls."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from ...loader.config import ServerConfig
from ..http import HttpClient, parse_token_json, token_error


@dataclass(frozen=True)
class Token:
    """An access token. ``repr`` never shows the value."""

    value: str
    token_type: str
    expires_at: float
    obtained_at: float
    scope: Optional[str] = None

    @property
    def lifetime(self) -> float:
        return self.expires_at - self.obtained_at

    def __repr__(self) -> str:
        return (f"Token(value='***', token_type={self.token_type!r}, expires_at={self.expires_at:.0f}, "
                f"scope={self.scope!r})")

    __str__ = __repr__

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any], now: float) -> Token:
        return cls(value=answer["access_token"], token_type=answer["token_type"],
                   expires_at=float(answer["expires_at"]), obtained_at=now, scope=answer.get("scope"))


class Provider:
    """Obtains one token per call to ``fetch``; retries and caching are the manager's job."""

    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        self.server = server
        self.http = http

    def fetch(self) -> Token:
        raise NotImplementedError

    def _token_from(self, resp: Any, now: Optional[float] = None) -> Token:
        now = time.time() if now is None else now
        if resp.status_code != 200:
            raise token_error(self.server.name, resp)
        return Token.from_answer(parse_token_json(self.server.name, resp, now), now)
