"""No secret and no token in logs, exception text, reprs, status/test answers or metrics."""

from __future__ import annotations

import json
import logging

import pytest

from orthanc_dicomweb_oauth.loader.errors import OAuthPluginError
from orthanc_dicomweb_oauth.runtime.metrics import Metrics
from orthanc_dicomweb_oauth.runtime.token_manager import build_managers
from tests.helpers.config import ENC_KEY, plugin_config

pytestmark = pytest.mark.real


def test_scan_finds_no_secret_or_token(idp, redis_server, caplog):
    caplog.set_level(logging.DEBUG, logger="orthanc_dicomweb_oauth")
    metrics = Metrics()
    secrets = {c["client_secret"] for c in idp.clients} | {ENC_KEY, "a-wrong-secret-xyz"}
    tokens: set[str] = set()
    texts: list[str] = []

    def run(cfg, expect_error=False, calls=1):
        managers = build_managers(cfg, metrics)
        for m in [m for m in managers.values() for _ in range(calls)]:
            texts.append(repr(m))
            try:
                tokens.add(m.get_token())
                texts.append(json.dumps(m.test()))
                tokens.add(m.current().value)
                texts.append(repr(m.current()))
                texts.append(str(m.current()))
            except OAuthPluginError as e:
                assert expect_error
                texts.extend([str(e), repr(e), json.dumps(e.to_dict()), repr(e.args)])
            texts.append(json.dumps(m.status()))

    for client in ("orthanc", "orthanc-post"):
        cfg = plugin_config(idp, client_id=client, redis_url=redis_server.url)
        texts.append(repr(cfg))
        run(cfg)
    run(plugin_config(idp, ClientSecret="a-wrong-secret-xyz"), expect_error=True)
    idp.fail_with(500)
    bad = plugin_config(idp, name="down")
    run(bad, expect_error=True, calls=3)  # the third call finds the breaker open
    idp.heal()

    texts.append(metrics.render().decode())
    texts.append(caplog.text)
    haystack = "\n".join(texts)
    assert len(tokens) >= 3
    assert "token.acquired" in caplog.text and "AUTH-001" in haystack and "NET-006" in haystack
    for s in secrets | tokens:
        assert s not in haystack, "a secret or token leaked"
