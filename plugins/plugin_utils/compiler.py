# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The orthanc.json compiler: one host's inventory variables in, one hardened, deterministic
configuration out, plus the secrets it moved out of it and every finding.

Secrets (user passwords, the plugin's client secrets, service-account keys, Redis password and
cache key) never stay in orthanc.json: each is replaced by ``${VAR}`` (Orthanc substitutes
environment variables in its configuration) and returned in ``environment``, for a root-owned
file readable only by the Orthanc group that the service loads. Rendering sorts keys and uses a
fixed layout, so the same inventory always gives the same bytes."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from .rules import RULES, RULES_BY_ID

SCHEMA_RELATIVE = os.path.join("plugin", "src", "orthanc_dicomweb_oauth", "schema", "dicomweb-oauth.schema.json")
ENV_RE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")

DEFAULTS: dict[str, Any] = {
    "orthanc_http_port": 8042,
    "orthanc_dicom_enabled": True,
    "orthanc_dicom_port": 4242,
    "orthanc_dicom_aet": "ORTHANC",
    "orthanc_remote_access_allowed": False,
    "orthanc_authentication_enabled": True,
    "orthanc_users": {},
    "orthanc_ssl_enabled": False,
    "orthanc_ssl_certificate": "/etc/orthanc/tls/orthanc.pem",
    "orthanc_storage_directory": "/var/lib/orthanc/db",
    "orthanc_plugins_dir": "/usr/share/orthanc/plugins",
    "orthanc_dicomweb_servers_in_database": False,
    "orthanc_https_ca_certificates": "/etc/ssl/certs/ca-certificates.crt",
    "orthanc_oauth_plugin_script": "/usr/lib/orthanc-dicomweb-oauth/dicomweb_oauth_plugin.py",
    "orthanc_dicomweb_oauth": None,
    "orthanc_oauth_allow_private_hosts": [],
    "orthanc_hardening_waivers": [],
    "orthanc_extra_config": {},
}
MANAGED_KEYS = frozenset({
    "Name", "StorageDirectory", "IndexDirectory", "HttpPort", "DicomServerEnabled", "DicomPort", "DicomAet",
    "RemoteAccessAllowed", "AuthenticationEnabled", "RegisteredUsers", "SslEnabled", "SslCertificate",
    "Plugins", "PythonScript", "DicomWeb", "DicomWebOAuth", "HttpsCACertificates",
})
SERVER_SECRETS = ("ClientSecret", "ServiceAccountKey")
CACHE_SECRETS = ("RedisPassword", "EncryptionKey")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    host: str
    path: str
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.host}: {self.rule} [{self.severity}] {self.path}: {self.message} -- fix: {self.fix}"

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "host": self.host, "path": self.path,
                "message": self.message, "fix": self.fix}


@dataclass
class Result:
    host: str
    config: dict[str, Any]
    rendered: str
    environment: dict[str, str] = field(repr=False)
    findings: list[Finding]
    waived: list[dict[str, str]]

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> dict[str, Any]:
        """Everything but the secrets: safe to show."""
        return {"host": self.host, "ok": self.ok, "findings": [f.as_dict() for f in self.findings],
                "waived": self.waived, "environment_names": sorted(self.environment)}


def plain(value: Any) -> Any:
    """Ansible's lazy, templated or tagged containers and strings to plain Python values
    (reading a lazy container templates it: Vault lookups run here)."""
    if isinstance(value, Mapping):
        return {str(k): plain(value[k]) for k in value}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def env_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)


def render(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_SCHEMA_CACHE: dict[str, Any] = {}


def collection_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_schema(path: Optional[str] = None) -> dict[str, Any]:
    path = path or os.path.join(collection_root(), SCHEMA_RELATIVE)
    if path not in _SCHEMA_CACHE:
        with open(path, encoding="utf-8") as f:
            _SCHEMA_CACHE[path] = json.load(f)
    schema: dict[str, Any] = _SCHEMA_CACHE[path]
    return schema


def _schema_findings(section: Any, host: str) -> list[Finding]:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - a controller without jsonschema
        return [Finding("INPUT", "high", host, "DicomWebOAuth", "python jsonschema is not installed on "
                        "the controller, the section cannot be validated", "pip install jsonschema")]
    validator = jsonschema.Draft202012Validator(load_schema())
    out = []
    for e in sorted(validator.iter_errors(section), key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(["DicomWebOAuth", *[str(p) for p in e.absolute_path]])
        leaf = str(e.absolute_path[-1]) if e.absolute_path else ""
        msg = e.message if leaf not in SERVER_SECRETS + CACHE_SECRETS else f"invalid value ({e.validator})"
        out.append(Finding("SCHEMA", "high", host, path, msg,
                           "See docs/configuration-reference.md for the key's type and values."))
    return out


def _move_secret(holder: dict[str, Any], key: str, var: str, env: dict[str, str], secret_values: dict[str, str],
                 where: str) -> None:
    value = holder.get(key)
    if value is None or (isinstance(value, str) and ENV_RE.match(value)):
        return  # absent, or already supplied through the environment by the operator
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True)
    env[var] = value
    secret_values[where] = value
    holder[key] = "${" + var + "}"


def compile_host(host: str, hostvars: dict[str, Any]) -> Result:
    """Compile one host. Never raises on bad input: problems become findings."""
    v = {**DEFAULTS, **{k: val for k, val in hostvars.items() if k in DEFAULTS or k == "orthanc_name"}}
    findings: list[Finding] = []
    env: dict[str, str] = {}
    secret_values: dict[str, str] = {}

    def bad(path: str, message: str, fix: str) -> None:
        findings.append(Finding("INPUT", "high", host, path, message, fix))

    # -- Orthanc's own settings ------------------------------------------------------------------
    name = v.get("orthanc_name") or host
    cfg: dict[str, Any] = {
        "Name": str(name),
        "StorageDirectory": str(v["orthanc_storage_directory"]),
        "IndexDirectory": str(v["orthanc_storage_directory"]),
        "HttpPort": v["orthanc_http_port"],
        "DicomServerEnabled": bool(v["orthanc_dicom_enabled"]),
        "DicomPort": v["orthanc_dicom_port"],
        "DicomAet": str(v["orthanc_dicom_aet"]),
        "RemoteAccessAllowed": v["orthanc_remote_access_allowed"],
        "AuthenticationEnabled": v["orthanc_authentication_enabled"],
        "SslEnabled": v["orthanc_ssl_enabled"],
        "Plugins": [f"{v['orthanc_plugins_dir']}/libOrthancDicomWeb.so"],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/",
                     "ServersInDatabase": v["orthanc_dicomweb_servers_in_database"]},
        # Orthanc's own HTTP client (the DICOMweb data path) verifies https targets against this
        # one file; left out, Orthanc 1.10 resolves it to its configuration directory and every
        # https request fails with libcurl error 77 (measured).
        "HttpsCACertificates": str(v["orthanc_https_ca_certificates"]),
    }
    for key in ("orthanc_http_port", "orthanc_dicom_port"):
        if not isinstance(v[key], int) or isinstance(v[key], bool) or not 1 <= v[key] <= 65535:
            bad(key, f"{v[key]!r} is not a TCP port", "Use an integer from 1 to 65535.")
    for key in ("orthanc_remote_access_allowed", "orthanc_authentication_enabled", "orthanc_ssl_enabled",
                "orthanc_dicomweb_servers_in_database"):
        if not isinstance(v[key], bool):
            bad(key, f"{v[key]!r} is not a boolean", "Use true or false.")
    if v["orthanc_ssl_enabled"]:
        cfg["SslCertificate"] = str(v["orthanc_ssl_certificate"])

    users = v["orthanc_users"]
    user_passwords: dict[str, Optional[str]] = {}
    if not isinstance(users, dict):
        bad("orthanc_users", "must be a mapping of user name to password", "orthanc_users: {name: password}")
        users = {}
    registered = {}
    for user in sorted(users):
        pw = users[user]
        var = env_name("ORTHANC_USER", str(user), "PASSWORD")
        if isinstance(pw, str) and (ENV_RE.match(pw) or "{{" in pw):
            # From the environment, or a template not resolved offline (a Vault lookup): the
            # value is checked where it is known; an unresolved template still moves to env.
            user_passwords[str(user)] = None
            if "{{" in pw:
                env[var] = pw
                registered[str(user)] = "${" + var + "}"
                continue
            registered[str(user)] = pw
            continue
        pw = "" if pw is None else str(pw)
        user_passwords[str(user)] = pw
        if pw:
            env[var] = pw
            secret_values[f"orthanc_users.{user}"] = pw
        registered[str(user)] = "${" + var + "}"
    cfg["RegisteredUsers"] = registered

    # -- The OAuth plugin --------------------------------------------------------------------------
    section = v["orthanc_dicomweb_oauth"]
    if section is not None:
        if not isinstance(section, dict):
            bad("orthanc_dicomweb_oauth", "must be a mapping (the DicomWebOAuth section)",
                "See docs/configuration.md.")
        else:
            section = copy.deepcopy(section)
            servers = section.get("Servers")
            if isinstance(servers, dict):
                for sname in sorted(servers):
                    srv = servers[sname]
                    if isinstance(srv, dict):
                        for key in SERVER_SECRETS:
                            _move_secret(srv, key, env_name("DWO", str(sname), key), env, secret_values,
                                         f"DicomWebOAuth.Servers.{sname}.{key}")
            cache = section.get("Cache")
            if isinstance(cache, dict):
                for key in CACHE_SECRETS:
                    _move_secret(cache, key, env_name("DWO_CACHE", key), env, secret_values,
                                 f"DicomWebOAuth.Cache.{key}")
            findings += _schema_findings(section, host)
            cfg["DicomWebOAuth"] = section
            cfg["Plugins"].append(f"{v['orthanc_plugins_dir']}/libOrthancPython.so")
            cfg["PythonScript"] = str(v["orthanc_oauth_plugin_script"])

    extra = v["orthanc_extra_config"]
    if not isinstance(extra, dict):
        bad("orthanc_extra_config", "must be a mapping", "orthanc_extra_config: {Key: value}")
    else:
        for key in sorted(extra):
            if key in MANAGED_KEYS:
                bad(f"orthanc_extra_config.{key}", "is managed by the compiler",
                    "Use the orthanc_* variable for it (see roles/config/README.md).")
            else:
                cfg[key] = copy.deepcopy(extra[key])

    rendered = render(cfg)

    # -- Rules, then waivers ------------------------------------------------------------------------
    ctx = {"user_passwords": user_passwords, "secret_values": secret_values, "rendered": rendered,
           "allow_private_hosts": v["orthanc_oauth_allow_private_hosts"] or []}
    rule_findings = []
    for rule in RULES:
        for path, message in rule.check(cfg, ctx):
            rule_findings.append(Finding(rule.id, rule.severity, host, path, message, rule.fix))

    waivers = v["orthanc_hardening_waivers"] or []
    waived_ids: dict[str, str] = {}
    if not isinstance(waivers, list):
        bad("orthanc_hardening_waivers", "must be a list of {id, reason}", "See docs/hardening.md.")
        waivers = []
    for i, w in enumerate(waivers):
        wid = w.get("id") if isinstance(w, dict) else None
        reason = str(w.get("reason") or "").strip() if isinstance(w, dict) else ""
        if wid not in RULES_BY_ID:
            bad(f"orthanc_hardening_waivers[{i}]", f"unknown rule id {wid!r}", "Use an id from docs/hardening.md.")
        elif len(reason) < 10:
            bad(f"orthanc_hardening_waivers[{i}]", f"waiver of {wid} has no written reason",
                "Add reason: with why this host may break the rule.")
        else:
            waived_ids[wid] = reason
    waived = []
    for f in rule_findings:
        if f.rule in waived_ids and f.rule != "ORT-008":  # a leaked secret is never waivable
            waived.append({"rule": f.rule, "path": f.path, "reason": waived_ids[f.rule], "host": host})
        else:
            findings.append(f)
    findings.sort(key=lambda f: (f.rule, f.path, f.message))
    return Result(host, cfg, rendered, env, findings, waived)


def render_environment(env: dict[str, str]) -> str:
    """The systemd EnvironmentFile text (values quoted, sorted)."""
    lines = ["# Managed by dicomweb_oauth.orthanc: secrets for orthanc.json's ${VAR} references."]
    for k in sorted(env):
        value = env[k].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{k}="{value}"')
    return "\n".join(lines) + "\n"
