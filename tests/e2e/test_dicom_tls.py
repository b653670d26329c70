"""Orthanc's DICOM TLS as the compiler configures it (orthanc_dicom_tls), on the Orthanc of the run
(Debian 12's here, Debian 13's in the second e2e pass), with DCMTK as the modality: C-STORE over
mutual TLS accepted; plain DICOM and TLS without a client certificate refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from plugins.plugin_utils.compiler import compile_host
from testenv.orthanc import OrthancServer
from testenv.process import free_port
from testenv.tls import self_signed, signed_by
from tests.conftest import STATE_DIR
from tests.helpers.dicom import ct_series

pytestmark = [pytest.mark.real, pytest.mark.skipif(shutil.which("storescu") is None, reason="DCMTK is not installed")]


def test_dicom_tls_from_the_compiler(tmp_path):
    ca = self_signed(tmp_path / "pki", "ca", ("test CA",))
    server = signed_by(ca, tmp_path / "pki", "orthanc", ("localhost", "127.0.0.1"))
    client = signed_by(ca, tmp_path / "pki", "modality", ("modality",))
    pem = {k: Path(v).read_text() for k, v in (("cert", server[0]), ("key", server[1]), ("ca", ca[0]))}
    secrets = tmp_path / "secrets"
    result = compile_host("dicom-tls", {
        "orthanc_users": {"admin": "a-long-unique-password-1"}, "orthanc_dicom_enabled": True,
        "orthanc_secrets_directory": str(secrets),
        "orthanc_dicom_tls": {"certificate": pem["cert"], "private_key": pem["key"], "trusted_certificates": pem["ca"]}})
    assert result.ok, [f.line() for f in result.findings]
    for path, content in result.secret_files.items():  # as the config role writes them
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
    port = free_port()
    extra = {k: v for k, v in result.config.items() if k.startswith("DicomTls")}
    orthanc = OrthancServer(STATE_DIR, f"dicom-tls-{port}", {**extra, "DicomServerEnabled": True, "DicomPort": port,
                                                             "DicomAlwaysAllowStore": True, "DicomCheckCalledAet": False})
    study = tmp_path / "ct.dcm"
    study.write_bytes(ct_series(1)[0])
    orthanc.start()
    try:
        def run(*argv: str) -> int:
            return subprocess.run(list(argv), capture_output=True, timeout=60).returncode

        assert run("storescu", "+tls", client[1], client[0], "+cf", ca[0], "-aec", "ORTHANC", "127.0.0.1",
                   str(port), str(study)) == 0
        assert run("echoscu", "-aec", "ORTHANC", "127.0.0.1", str(port)) != 0
        assert run("echoscu", "+tla", "+cf", ca[0], "-aec", "ORTHANC", "127.0.0.1", str(port)) != 0
        assert orthanc.get("/statistics")["CountInstances"] == 1
    finally:
        orthanc.stop()
