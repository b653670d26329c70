# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DICOM TLS: Orthanc's DicomTls* settings, and the PEM texts as files in the secrets directory."""

from __future__ import annotations

from typing import Any

from .inputs import BY_NAME, Inputs

DICOM_TLS_KEYS = frozenset(BY_NAME["orthanc_dicom_tls"].options)


def dicom_tls(inp: Inputs, cfg: dict[str, Any], files: dict[str, str], secret_values: dict[str, str]) -> None:
    """orthanc_dicom_tls ({certificate, private_key, trusted_certificates: PEM text,
    remote_certificate_required}) as Orthanc's DicomTls* settings, the PEM texts as files in the
    secrets directory (Orthanc reads them at start: a change restarts it)."""
    tls = inp.v["orthanc_dicom_tls"]
    if tls is None:
        return
    fix = ("orthanc_dicom_tls: {certificate: PEM, private_key: PEM (from Vault), trusted_certificates: PEM of "
           "the modalities' certificates, remote_certificate_required: true}")
    if not isinstance(tls, dict) or set(tls) - DICOM_TLS_KEYS:
        inp.bad("orthanc_dicom_tls", f"must be a mapping with the keys {', '.join(sorted(DICOM_TLS_KEYS))}", fix)
        return
    directory = inp.path("orthanc_secrets_directory").rstrip("/")
    marks = {"certificate": "CERTIFICATE-----", "private_key": "PRIVATE KEY-----",
             "trusted_certificates": "CERTIFICATE-----"}
    names = {"certificate": "dicom-tls.crt", "private_key": "dicom-tls.key",
             "trusted_certificates": "dicom-tls-trusted.crt"}
    for key, mark in marks.items():
        value = tls.get(key)
        if not isinstance(value, str) or not (mark in value or "{{" in value):
            inp.bad(f"orthanc_dicom_tls.{key}", f"must be PEM text (with -----BEGIN ...{mark.rstrip('-')})", fix)
            continue
        files[f"{directory}/{names[key]}"] = value
    required = tls.get("remote_certificate_required", True)
    if not isinstance(required, bool):
        inp.bad("orthanc_dicom_tls.remote_certificate_required", "must be true or false", fix)
    if isinstance(tls.get("private_key"), str) and "{{" not in tls["private_key"]:
        secret_values["orthanc_dicom_tls.private_key"] = tls["private_key"]
    cfg.update({"DicomTlsEnabled": True, "DicomTlsCertificate": f"{directory}/dicom-tls.crt",
                "DicomTlsPrivateKey": f"{directory}/dicom-tls.key",
                "DicomTlsTrustedCertificates": f"{directory}/dicom-tls-trusted.crt",
                "DicomTlsRemoteCertificateRequired": required is not False})
