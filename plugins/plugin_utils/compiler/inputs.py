# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compiler's inputs, declared once: name, type, default and description of every inventory
variable the compiler reads. The config role's defaults, its argument_specs options and its input
list, the shared role's defaults and options, and the table in docs/collection.md are generated
from this declaration (scripts/docs.py; `make docs-check` fails when one of them differs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .findings import Finding

# The entry script the oauth_plugin role installs in orthanc_oauth_plugin_dir; PythonScript is
# always this file there, so the two roles cannot disagree.
PLUGIN_SCRIPT = "dicomweb_oauth_plugin.py"


@dataclass(frozen=True)
class Input:
    name: str
    type: str  # an argument_specs type: str, int, bool, path, dict, list
    default: Any
    description: str
    # The role whose defaults hold it: config, or common for what several roles read.
    owner: str = "config"
    no_log: bool = False
    elements: Optional[str] = None
    options: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        """Its argument_specs option."""
        out: dict[str, Any] = {"type": self.type}
        if self.elements:
            out["elements"] = self.elements
        out["default"] = self.default
        if self.no_log:
            out["no_log"] = True
        out["description"] = self.description
        if self.options:
            out["options"] = self.options
        return out


_DICOM_TLS_OPTIONS = {
    "certificate": {"type": "str", "required": True, "description": "Orthanc's DICOM TLS certificate (PEM)."},
    "private_key": {"type": "str", "required": True, "no_log": True, "description": "Its private key (PEM)."},
    "trusted_certificates": {"type": "str", "required": True,
                             "description": "Certificates of the modalities allowed to connect (PEM)."},
    "remote_certificate_required": {"type": "bool", "default": True,
                                    "description": "Refuse peers without a trusted certificate."},
}
_PROXY_OPTIONS = {
    "url": {"type": "str", "required": True,
            "description": "http://host:port of the proxy (https:// for a TLS proxy), with the port and without "
                           "credentials."},
    "username": {"type": "str", "description": "Proxy user (Basic authentication)."},
    "password": {"type": "str", "no_log": True, "description": "Proxy password, e.g. from Vault (not a ${VAR})."},
    "no_proxy": {"type": "list", "elements": "str", "default": [],
                 "description": "Hosts reached direct (libcurl's NO_PROXY rules); localhost, 127.0.0.1 and ::1 "
                                "are always added."},
}

INPUTS: tuple[Input, ...] = (
    Input("orthanc_name", "str", "{{ inventory_hostname }}", "Orthanc's Name (the inventory host name when empty)."),
    Input("orthanc_http_port", "int", 8042, "HttpPort. Orthanc listens on loopback only (rule ORT-003)."),
    Input("orthanc_dicom_enabled", "bool", False,
          "DicomServerEnabled. Orthanc's DICOM listener binds every address (it has no bind setting), so it is "
          "on only with orthanc_dicom_tls (rule ORT-004)."),
    Input("orthanc_dicom_port", "int", 4242, "DicomPort."),
    Input("orthanc_dicom_aet", "str", "ORTHANC", "DicomAet, the DICOM AE title (printable ASCII, 1-16 characters)."),
    Input("orthanc_dicom_tls", "dict", None,
          "DICOM TLS (works on Debian 12 and 13, measured), {certificate, private_key, trusted_certificates - "
          "PEM texts, the key from Vault; remote_certificate_required - default true, mutual TLS}: "
          "DicomTlsEnabled and the DicomTls* file paths; the files go to orthanc_secrets_directory "
          "(root:orthanc 0640), and a change restarts Orthanc.", no_log=True, options=_DICOM_TLS_OPTIONS),
    Input("orthanc_remote_access_allowed", "bool", False,
          "RemoteAccessAllowed: Orthanc's HTTP port off-host, in clear (rule ORT-003; the role tls_front "
          "serves clients off the host)."),
    Input("orthanc_authentication_enabled", "bool", True, "AuthenticationEnabled (rule ORT-001)."),
    Input("orthanc_users", "dict", {},
          "User name to password: RegisteredUsers, each password as ${ORTHANC_USER_<NAME>_PASSWORD} in the "
          "environment file (rule ORT-002).", no_log=True),
    Input("orthanc_ssl_enabled", "bool", False,
          "SslEnabled. Refused (rule ORT-010): Orthanc's own HTTPS crashes on Debian 12 and 13 (measured); the "
          "role tls_front terminates TLS in front of Orthanc.", owner="common"),
    Input("orthanc_ssl_certificate", "path", "/etc/orthanc/tls/orthanc.pem", "SslCertificate (with SslEnabled)."),
    Input("orthanc_storage_directory", "path", "/var/lib/orthanc/db",
          "StorageDirectory and IndexDirectory; the server role creates it.", owner="common"),
    Input("orthanc_plugins_dir", "path", "/usr/share/orthanc/plugins",
          "Where Debian's Orthanc plugins are: Plugins (DICOMweb; Python when orthanc_dicomweb_oauth is set)."),
    Input("orthanc_dicomweb_servers_in_database", "bool", False,
          "DicomWeb.ServersInDatabase (the plugin refuses true with OAuth servers: SEC-002)."),
    Input("orthanc_https_ca_certificates", "path", "/etc/ssl/certs/ca-certificates.crt",
          "HttpsCACertificates: the one CA file Orthanc's DICOMweb client verifies every https target with (a "
          "server's CaBundle is for its identity provider only)."),
    Input("orthanc_oauth_plugin_dir", "path", "/usr/lib/orthanc-dicomweb-oauth",
          f"Where the oauth_plugin role installs the plugin; PythonScript is {PLUGIN_SCRIPT} there.",
          owner="common"),
    Input("orthanc_dicomweb_oauth", "dict", None,
          "DicomWebOAuth (docs/configuration-reference.md). Each server's ClientSecret becomes a ClientSecretFile "
          "in orthanc_secrets_directory; ServiceAccountKey, Cache.RedisPassword and Cache.EncryptionKey become "
          "${DWO_...} in the environment file; RateLimit is written out with the plugin's defaults.",
          no_log=True),
    Input("orthanc_oauth_allow_private_hosts", "list", [],
          "DicomWebOAuth.AllowPrivateHosts: hosts the plugin may reach although they are loopback, private, "
          "link-local or a metadata endpoint (rule SEC-009). Any spelling of an address matches.", elements="str"),
    Input("orthanc_hardening_waivers", "list", [], "Waivers, each {id, reason} (docs/hardening.md).",
          elements="dict"),
    Input("orthanc_extra_config", "dict", {}, "Any other Orthanc setting; keys the compiler manages are refused."),
    Input("orthanc_outbound_proxy", "dict", None,
          "The outbound HTTP proxy (hospital networks), {url, username, password, no_proxy}: the plugin's "
          "DicomWebOAuth.Proxy (password as ${DWO_PROXY_PASSWORD}), and https_proxy, http_proxy and no_proxy in "
          "the environment file for Orthanc's DICOMweb client - never Orthanc's HttpProxy, which Orthanc logs "
          "with its password (measured). The identity-provider preflight goes through it too; loopback and "
          "Redis never do.", no_log=True, options=_PROXY_OPTIONS),
    Input("orthanc_secrets_directory", "path", "/etc/orthanc/secrets",
          "Where each server's client secret is written (one <server>.client-secret per server, root:orthanc "
          "0640), and the DICOM TLS files. The plugin reads a secret file again when it changes, so a new "
          "secret from Vault reaches it without restarting Orthanc (playbooks/rotate_client_secret.yml)."),
)

BY_NAME = {i.name: i for i in INPUTS}
# What the compiler falls back to for a variable the host does not set (a templated default is
# the role's business: the compiler is called with it resolved).
DEFAULTS: dict[str, Any] = {i.name: i.default for i in INPUTS if not (isinstance(i.default, str) and "{{" in i.default)}


# Reading the inputs: every malformed value becomes an INPUT finding, never an exception.

_TRUE = frozenset({"true", "yes", "on", "y", "t", "1"})

_FALSE = frozenset({"false", "no", "off", "n", "f", "0"})


class Inputs:
    """One host's variables with their types checked; ``-e`` strings (``"8180"``, ``"true"``)
    are read the way Ansible users pass them."""

    def __init__(self, host: str, hostvars: dict[str, Any]) -> None:
        self.host = host
        self.v = {**DEFAULTS, **{k: val for k, val in hostvars.items() if k in BY_NAME}}
        self.findings: list[Finding] = []
        # What the compiler did that the user should know, without failing (warning lines).
        self.notes: list[str] = []

    def bad(self, path: str, message: str, fix: str) -> None:
        self.findings.append(Finding("INPUT", "high", self.host, path, message, fix))

    def port(self, key: str) -> int:
        value = self.v[key]
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,5}\s*", value):
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
            return value
        self.bad(key, "is not a TCP port", "Use an integer from 1 to 65535.")
        return int(DEFAULTS[key])

    def boolean(self, key: str) -> bool:
        value = self.v[key]
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE | _FALSE:
            return str(value).strip().lower() in _TRUE
        self.bad(key, "is not a boolean", "Use true or false.")
        return bool(DEFAULTS[key])

    def path(self, key: str) -> str:
        value = self.v[key]
        if isinstance(value, str) and value.startswith("/") and "\n" not in value:
            return value
        self.bad(key, "is not an absolute path", "Use a path starting with /.")
        return str(DEFAULTS[key])

    def text(self, key: str, default: str, pattern: Optional[re.Pattern[str]] = None) -> str:
        value = self.v.get(key, default)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and (
                pattern is None or pattern.match(str(value))):
            return str(value)
        self.bad(key, "is not a valid value" if pattern else "must be a string",
                 "See roles/config/README.md for the variable's type.")
        return default

    def mapping(self, key: str, fix: str) -> dict[str, Any]:
        value = self.v[key]
        if isinstance(value, dict):
            return value
        self.bad(key, "must be a mapping", fix)
        return {}

    def strings(self, key: str, fix: str) -> list[str]:
        value = self.v[key] or []
        if isinstance(value, list) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in value):
            return [str(x) for x in value]
        self.bad(key, "must be a list of strings", fix)
        return []
