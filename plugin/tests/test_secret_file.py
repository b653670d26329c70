"""ClientSecretFile: the checks at load (one judge: the compiler calls the same loader without
host files) and SecretFile's behaviour when the file changes, vanishes or is emptied."""

from __future__ import annotations

import os

import pytest

from orthanc_dicomweb_oauth.loader.config import check_config, load_config
from orthanc_dicomweb_oauth.loader.secret_file import SecretFile

SERVER = {"Url": "https://pacs.example.org/dicom-web", "TokenEndpoint": "https://idp.example.org/token",
          "ClientId": "orthanc"}


def codes(server: dict, host_files: bool = True) -> list[str]:
    cfg, errors = check_config({"Servers": {"s": server}}, environ={}, host_files=host_files)
    assert (cfg is None) == bool(errors)
    return [e.code for e in errors]


def secret_file(tmp_path, text: str = "s3cret-value-1\n", mode: int = 0o640):
    f = tmp_path / "client-secret"
    f.write_text(text)
    f.chmod(mode)
    return f


def test_accepted_file_gives_its_content_without_the_newline(tmp_path):
    f = secret_file(tmp_path)
    cfg = load_config({"Servers": {"s": {**SERVER, "ClientSecretFile": str(f)}}}, environ={})
    assert cfg.servers["s"].client_secret.reveal() == "s3cret-value-1"
    assert "s3cret" not in repr(cfg.servers["s"])


@pytest.mark.parametrize(("change", "code"), [
    ("world-readable", "SEC-010"), ("missing", "CFG-009"), ("both", "CFG-002"), ("neither", "CFG-007")])
def test_refused_files(tmp_path, change, code):
    f = secret_file(tmp_path, mode=0o644 if change == "world-readable" else 0o640)
    server = {**SERVER, "ClientSecretFile": str(f)}
    if change == "missing":
        server["ClientSecretFile"] = str(tmp_path / "nope")
    if change == "both":
        server["ClientSecret"] = "inline-secret-2"
    if change == "neither":
        del server["ClientSecretFile"]
    assert codes(server) == [code]


def test_compiler_view_does_not_read_host_files(tmp_path):
    """The compiler judges on the controller, where the file does not exist yet."""
    assert codes({**SERVER, "ClientSecretFile": "/etc/orthanc/secrets/s.client-secret"}, host_files=False) == []


def test_file_changes_vanishes_and_empties(tmp_path):
    f = secret_file(tmp_path)
    s = SecretFile(str(f), "s")
    tmp = tmp_path / "new"
    tmp.write_text("s3cret-value-2\n")
    os.replace(tmp, f)
    assert s.reveal() == "s3cret-value-2"
    f.unlink()
    assert s.reveal() == "s3cret-value-2"  # a replacement half done keeps the last value
    f.write_text("")
    assert s.reveal() == "s3cret-value-2"
    f.write_text("s3cret-value-3")
    assert s.reveal() == "s3cret-value-3"
