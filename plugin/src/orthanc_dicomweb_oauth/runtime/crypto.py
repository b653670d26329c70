"""Sealing tokens for the shared cache: AES-256-GCM under the operator's key, bound to the
Redis key they are stored under (associated data), so a token cannot be read without the key
nor moved to another server's entry unnoticed."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"v1"


class SealError(Exception):
    pass


class TokenSeal:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("key must be 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "TokenSeal(key='***')"

    def seal(self, payload: dict[str, Any], context: str) -> bytes:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, json.dumps(payload).encode(), _VERSION + context.encode())
        return _VERSION + b"." + base64.b64encode(nonce + ct)

    def open(self, blob: bytes, context: str) -> dict[str, Any]:
        try:
            version, body = blob.split(b".", 1)
            raw = base64.b64decode(body, validate=True)
            if version != _VERSION or len(raw) < 29:
                raise SealError("unknown format")
            data = self._aead.decrypt(raw[:12], raw[12:], version + context.encode())
            out: dict[str, Any] = json.loads(data)
            return out
        except (ValueError, InvalidTag) as e:
            raise SealError(type(e).__name__) from None
