"""The Redis cache that lets a cluster of Orthanc nodes share one token per server.

Tokens are sealed (``crypto.TokenSeal``) before they reach Redis. A short-lived lock
(``SET NX PX`` with a random owner id, released by compare-and-delete) makes one node refresh
while the others wait for its result. Every Redis failure raises ``SharedCacheDown``; the
token manager then works from its local cache, and this class keeps away from Redis for a
growing pause so a dead Redis costs requests nothing."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from typing import Any, Optional

import redis

from ..loader.config import CacheConfig, ServerConfig, decode_encryption_key
from ..loader.redaction import get_logger, kv
from .crypto import SealError, TokenSeal
from .providers.base import Token

_log = get_logger()
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class SharedCacheDown(Exception):
    pass


class SharedCacheRejected(Exception):
    """A stored token did not authenticate (wrong key or tampering)."""


def fingerprint(server: ServerConfig) -> str:
    """Nodes share a token only if they would have asked for the very same one."""
    parts = [server.provider_type, server.token_endpoint, server.issuer, server.tenant_id,
             server.client_id, server.scope, server.audience, server.resource]
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:16]


class SharedCache:
    def __init__(self, cfg: CacheConfig, client: Optional[Any] = None) -> None:
        assert cfg.encryption_key is not None and cfg.redis_url
        self.prefix = cfg.key_prefix
        self.lock_timeout = cfg.lock_timeout
        self._seal = TokenSeal(decode_encryption_key(cfg.encryption_key, "Cache.EncryptionKey"))
        kwargs: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5,
                                  "health_check_interval": 0}
        if cfg.redis_password:
            kwargs["password"] = cfg.redis_password.reveal()
        if cfg.redis_ca_bundle and cfg.redis_url.startswith("rediss://"):
            kwargs["ssl_ca_certs"] = cfg.redis_ca_bundle
        self._redis = client or redis.Redis.from_url(cfg.redis_url, **kwargs)
        self._state_lock = threading.Lock()
        self._down_until = 0.0
        self._pause = 0.0
        self.is_down = False

    def __repr__(self) -> str:
        return f"SharedCache(prefix={self.prefix!r})"

    def key(self, server: ServerConfig) -> str:
        return f"{self.prefix}token:{server.name}:{fingerprint(server)}"

    # -- failure bookkeeping -------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        with self._state_lock:
            if time.monotonic() < self._down_until:
                raise SharedCacheDown("paused after a failure")
        try:
            result = fn(*args, **kw)
        except (redis.exceptions.RedisError, OSError) as e:
            with self._state_lock:
                self._pause = min(10.0, max(1.0, self._pause * 2))
                self._down_until = time.monotonic() + self._pause
                if not self.is_down:
                    _log.warning(kv("shared_cache.down", code="INT-002", error=type(e).__name__,
                                    retry_in_s=self._pause))
                self.is_down = True
            raise SharedCacheDown(type(e).__name__) from None
        with self._state_lock:
            if self.is_down:
                _log.info(kv("shared_cache.up"))
            self.is_down = False
            self._pause = 0.0
        return result

    # -- tokens ---------------------------------------------------------------------------------
    def get(self, server: ServerConfig) -> Optional[Token]:
        key = self.key(server)
        blob = self._call(self._redis.get, key)
        if blob is None:
            return None
        try:
            d = self._seal.open(blob, key)
        except SealError:
            raise SharedCacheRejected() from None
        return Token(value=d["v"], token_type=d["t"], expires_at=d["e"], obtained_at=d["o"],
                     scope=d.get("s"))

    def put(self, server: ServerConfig, token: Token) -> None:
        key = self.key(server)
        ttl_ms = int((token.expires_at - time.time()) * 1000)
        if ttl_ms <= 0:
            return
        blob = self._seal.seal({"v": token.value, "t": token.token_type, "e": token.expires_at,
                                "o": token.obtained_at, "s": token.scope}, key)
        self._call(self._redis.set, key, blob, px=ttl_ms)

    # -- refresh lock -----------------------------------------------------------------------------
    def try_lock(self, server: ServerConfig) -> Optional[str]:
        owner = secrets.token_hex(8)
        ok = self._call(self._redis.set, self.key(server) + ":lock", owner, nx=True,
                        px=int(self.lock_timeout * 1000))
        return owner if ok else None

    def unlock(self, server: ServerConfig, owner: str) -> None:
        with contextlib.suppress(SharedCacheDown):  # the lock expires by itself
            self._call(self._redis.eval, _RELEASE, 1, self.key(server) + ":lock", owner)
