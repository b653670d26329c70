"""A client secret in a file (ClientSecretFile), rotated while the plugin runs: against the real
OpenID provider, which accepts the old and the new secret during the overlap and records which
one each token request presented."""

from __future__ import annotations

import logging
import os
import secrets

import pytest
import requests

from orthanc_dicomweb_oauth.loader.config import load_config
from orthanc_dicomweb_oauth.runtime.metrics import Metrics
from orthanc_dicomweb_oauth.runtime.token_manager import build_managers
from tests.helpers.config import LOOPBACK

pytestmark = pytest.mark.real
CLIENT = "orthanc"


def write_atomically(path, text: str) -> None:
    """As Ansible's copy does: a new file renamed over the old one."""
    tmp = path.with_suffix(".new")
    tmp.write_text(text)
    tmp.chmod(0o640)
    os.replace(tmp, path)


def test_rotated_secret_file_reaches_the_next_token_request(idp, tmp_path, caplog):
    old = idp.client(CLIENT)["client_secret"]
    new = "rotated-" + secrets.token_hex(16)
    secret_file = tmp_path / "orthanc.client-secret"
    write_atomically(secret_file, old + "\n")
    m = build_managers(load_config({"Servers": {"s": {
        "Url": "http://127.0.0.1:9/dicom-web", "TokenEndpoint": idp.token_endpoint, "ClientId": CLIENT,
        "ClientSecretFile": str(secret_file)}}, "AllowPrivateHosts": LOOPBACK}, environ={}), Metrics())["s"]
    caplog.set_level(logging.INFO)
    try:
        assert m.test()["ok"]
        idp.set_client_secrets(CLIENT, [("new", new), ("initial", old)])  # the provider's overlap
        write_atomically(secret_file, new + "\n")
        assert m.test()["ok"]
        idp.set_client_secrets(CLIENT, [("new", new)])  # the old secret revoked
        assert m.test()["ok"]
        assert idp.secrets_seen(CLIENT) == ["initial", "new", "new"]
        refused = requests.post(idp.token_endpoint, data={"grant_type": "client_credentials"},
                                auth=(CLIENT, old), timeout=10)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    finally:
        idp.set_client_secrets(CLIENT, [("initial", old)])
    reloads = [r.getMessage() for r in caplog.records if "secret.reloaded" in r.getMessage()]
    assert len(reloads) == 1 and str(secret_file) in reloads[0]
    assert new not in caplog.text and old not in caplog.text


def test_unchanged_file_is_not_read_again(idp, tmp_path, monkeypatch):
    secret_file = tmp_path / "cs"
    write_atomically(secret_file, idp.client(CLIENT)["client_secret"])
    cfg = load_config({"Servers": {"s": {"Url": "http://127.0.0.1:9/dicom-web", "TokenEndpoint": idp.token_endpoint,
                                         "ClientId": CLIENT, "ClientSecretFile": str(secret_file)}},
                       "AllowPrivateHosts": LOOPBACK}, environ={})
    secret = cfg.servers["s"].client_secret
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    for _ in range(50):
        secret.reveal()
    assert opened == []
