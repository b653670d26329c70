"""Sealing tokens for the shared cache."""

from __future__ import annotations

import pytest

from orthanc_dicomweb_oauth.runtime.crypto import SealError, TokenSeal


def test_seal_round_trip_and_tamper():
    s = TokenSeal(b"k" * 32)
    blob = s.seal({"v": "tok"}, "ctx-a")
    assert b"tok" not in blob
    assert s.open(blob, "ctx-a") == {"v": "tok"}
    with pytest.raises(SealError):
        s.open(blob, "ctx-b")  # moved to another server's key
    with pytest.raises(SealError):
        TokenSeal(b"x" * 32).open(blob, "ctx-a")
    tampered = blob[:-3] + (b"AAA" if blob[-3:] != b"AAA" else b"BBB")
    with pytest.raises(SealError):
        s.open(tampered, "ctx-a")
