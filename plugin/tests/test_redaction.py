"""Secrets never reach the log."""

from __future__ import annotations

import logging

import pytest

from orthanc_dicomweb_oauth.loader.redaction import REDACTOR, Secret, get_logger


def test_secret_hidden_and_redacted(caplog):
    s = Secret("my-very-secret-value")
    assert "my-very" not in repr(s) + str(s) + f"{s}"
    with pytest.raises(TypeError):
        __import__("pickle").dumps(s)
    caplog.set_level(logging.INFO, logger="orthanc_dicomweb_oauth")
    get_logger().info("echo %s and Bearer abcdefghijklmnop and eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln",
                      "my-very-secret-value")
    assert "my-very-secret-value" not in caplog.text
    assert "abcdefghijklmnop" not in caplog.text and "eyJzdWIi" not in caplog.text
    assert REDACTOR.redact('{"access_token": "zzz-123"}') == '{"access_token": "***"}'
