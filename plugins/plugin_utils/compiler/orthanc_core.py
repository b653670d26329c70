# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Orthanc's own settings: ports, listeners, users, plugins, and the extra settings."""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from .environment import ENV_RE, env_name, json_inner
from .inputs import Inputs

MANAGED_KEYS = frozenset({
    "Name", "StorageDirectory", "IndexDirectory", "HttpPort", "DicomServerEnabled", "DicomPort", "DicomAet",
    "RemoteAccessAllowed", "AuthenticationEnabled", "RegisteredUsers", "SslEnabled", "SslCertificate",
    "Plugins", "PythonScript", "DicomWeb", "DicomWebOAuth", "HttpsCACertificates", "HttpProxy",
    "DicomTlsEnabled", "DicomTlsCertificate", "DicomTlsPrivateKey", "DicomTlsTrustedCertificates",
    "DicomTlsRemoteCertificateRequired",
})

_AET = re.compile(r"^[ -\[\]-~]{1,16}$")  # DICOM AE title: printable ASCII without backslash


def orthanc_settings(inp: Inputs) -> dict[str, Any]:
    plugins_dir = inp.path("orthanc_plugins_dir")
    cfg: dict[str, Any] = {
        "Name": inp.text("orthanc_name", inp.host) if inp.v.get("orthanc_name") not in (None, "") else inp.host,
        "StorageDirectory": inp.path("orthanc_storage_directory"),
        "IndexDirectory": inp.path("orthanc_storage_directory"),
        "HttpPort": inp.port("orthanc_http_port"),
        "DicomServerEnabled": inp.boolean("orthanc_dicom_enabled"),
        "DicomPort": inp.port("orthanc_dicom_port"),
        "DicomAet": inp.text("orthanc_dicom_aet", "ORTHANC", _AET),
        "RemoteAccessAllowed": inp.boolean("orthanc_remote_access_allowed"),
        "AuthenticationEnabled": inp.boolean("orthanc_authentication_enabled"),
        "SslEnabled": inp.boolean("orthanc_ssl_enabled"),
        "Plugins": [f"{plugins_dir}/libOrthancDicomWeb.so"],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/",
                     "ServersInDatabase": inp.boolean("orthanc_dicomweb_servers_in_database")},
        # Orthanc's own HTTP client (the DICOMweb data path) verifies https targets against this
        # one file; left out, Orthanc 1.10 resolves it to its configuration directory and every
        # https request fails with libcurl error 77 (measured).
        "HttpsCACertificates": inp.path("orthanc_https_ca_certificates"),
    }
    if cfg["SslEnabled"]:
        cfg["SslCertificate"] = inp.path("orthanc_ssl_certificate")
    return cfg


def users(inp: Inputs, env: dict[str, str], secret_values: dict[str, str]
          ) -> tuple[dict[str, str], dict[str, Optional[str]]]:
    """RegisteredUsers with ``${VAR}`` for each password, and the passwords known offline."""
    users = inp.mapping("orthanc_users", "orthanc_users: {name: password}")
    registered: dict[str, str] = {}
    known: dict[str, Optional[str]] = {}
    for user in sorted(users, key=str):
        pw = users[user]
        var = env_name("ORTHANC_USER", str(user), "PASSWORD")
        if isinstance(pw, (dict, list)):
            inp.bad(f"orthanc_users.{user}", "password must be a string", "orthanc_users: {name: password}")
            continue
        if isinstance(pw, str) and ENV_RE.match(pw):
            known[str(user)], registered[str(user)] = None, pw  # the operator's own ${VAR}
            continue
        pw = "" if pw is None else str(pw)
        # A template not resolved offline (a Vault lookup) is checked where it is known.
        known[str(user)] = None if "{{" in pw else pw
        if pw:
            env[var] = json_inner(pw)
            if "{{" not in pw:
                secret_values[f"orthanc_users.{user}"] = pw
        registered[str(user)] = "${" + var + "}"
    return registered, known


def extra(inp: Inputs, cfg: dict[str, Any]) -> None:
    extra = inp.mapping("orthanc_extra_config", "orthanc_extra_config: {Key: value}")
    for key in sorted(extra, key=str):
        if key in MANAGED_KEYS:
            inp.bad(f"orthanc_extra_config.{key}", "is managed by the compiler",
                    "Use the orthanc_* variable for it (see roles/config/README.md).")
        else:
            cfg[str(key)] = copy.deepcopy(extra[key])
