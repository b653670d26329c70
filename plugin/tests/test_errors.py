"""The error registry: every code documented, every code used defined."""

from __future__ import annotations

from pathlib import Path

import pytest

from orthanc_dicomweb_oauth.loader import errors

ROOT = Path(__file__).resolve().parents[2]

def test_every_code_documented_and_families():
    for code, spec in errors.ERRORS.items():
        assert code.split("-")[0] in {"CFG", "SEC", "AUTH", "TOK", "NET", "INT"}
        assert spec.troubleshooting and spec.title
    with pytest.raises(ValueError):
        errors.OAuthPluginError("XYZ-1", "x")


def test_every_code_raised_somewhere_is_defined():
    import re

    src = "\n".join(p.read_text() for p in (ROOT / "plugin" / "src").rglob("*.py"))
    used = set(re.findall(r'"((?:CFG|SEC|AUTH|TOK|NET|INT)-\d{3})"', src))
    assert used <= set(errors.ERRORS)
