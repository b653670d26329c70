# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The orthanc.json compiler: one host's inventory variables in, one hardened, deterministic
configuration out, plus the secrets it moved out of it and every finding.

Secrets (user passwords, the plugin's client secrets, service-account keys, Redis password and
cache key) never stay in orthanc.json: each is replaced by ``${VAR}`` (Orthanc substitutes
environment variables in its configuration) and returned in ``environment``, for a root-owned
file readable only by the Orthanc group that the service loads. Rendering sorts keys and uses a
fixed layout, so the same inventory always gives the same bytes."""

from __future__ import annotations

import base64
import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from . import plugin_package
from .rules import RETIRED_RULES, RULES, RULES_BY_ID

ENV_RE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

DEFAULTS: dict[str, Any] = {
    "orthanc_http_port": 8042,
    # Orthanc's DICOM listener binds every address (it has no bind setting): off by default, and
    # on only with DICOM TLS (rule ORT-004).
    "orthanc_dicom_enabled": False,
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
    "orthanc_outbound_proxy": None,
    "orthanc_secrets_directory": "/etc/orthanc/secrets",
    "orthanc_dicom_tls": None,
}
MANAGED_KEYS = frozenset({
    "Name", "StorageDirectory", "IndexDirectory", "HttpPort", "DicomServerEnabled", "DicomPort", "DicomAet",
    "RemoteAccessAllowed", "AuthenticationEnabled", "RegisteredUsers", "SslEnabled", "SslCertificate",
    "Plugins", "PythonScript", "DicomWeb", "DicomWebOAuth", "HttpsCACertificates", "HttpProxy",
    "DicomTlsEnabled", "DicomTlsCertificate", "DicomTlsPrivateKey", "DicomTlsTrustedCertificates",
    "DicomTlsRemoteCertificateRequired",
})
DICOM_TLS_KEYS = frozenset({"certificate", "private_key", "trusted_certificates", "remote_certificate_required"})
# Hosts that never go through the outbound proxy, for libcurl's no_proxy (the plugin sends
# loopback direct by itself).
ALWAYS_NO_PROXY = ("localhost", "127.0.0.1", "::1")
PROXY_KEYS = frozenset({"url", "username", "password", "no_proxy"})


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
    warnings: list[str] = field(default_factory=list)
    # path on the host -> content: the client secrets, which the plugin reads from files (and
    # reads again when they change: a rotation needs no restart).
    secret_files: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> dict[str, Any]:
        """Everything but the secrets: safe to show."""
        return {"host": self.host, "ok": self.ok, "findings": [f.as_dict() for f in self.findings],
                "waived": self.waived, "warnings": self.warnings, "environment_names": sorted(self.environment)}


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


def json_inner(value: str) -> str:
    """``value`` escaped for the inside of a JSON string. Orthanc replaces ``${VAR}`` in the text
    of orthanc.json before it parses it (measured: a ``"`` in the variable breaks the file), so
    a password with a quote or a backslash must reach it already escaped."""
    return json.dumps(value)[1:-1]


def env_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)


def render(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Reading the inputs: every malformed value becomes an INPUT finding, never an exception.

_TRUE = frozenset({"true", "yes", "on", "y", "t", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "f", "0"})
_AET = re.compile(r"^[ -\[\]-~]{1,16}$")  # DICOM AE title: printable ASCII without backslash


class _Inputs:
    """One host's variables with their types checked; ``-e`` strings (``"8180"``, ``"true"``)
    are read the way Ansible users pass them."""

    def __init__(self, host: str, hostvars: dict[str, Any]) -> None:
        self.host = host
        self.v = {**DEFAULTS, **{k: val for k, val in hostvars.items() if k in DEFAULTS or k == "orthanc_name"}}
        self.findings: list[Finding] = []

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


def _non_finite(value: Any, path: str) -> list[str]:
    """Paths of floats JSON cannot carry (nan, inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{path}[{i}]")]
    return []


# ---------------------------------------------------------------------------------------------
# The parts of orthanc.json


def _orthanc_settings(inp: _Inputs) -> dict[str, Any]:
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


def _users(inp: _Inputs, env: dict[str, str], secret_values: dict[str, str]
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


def _move_secret(holder: dict[str, Any], key: str, var: str, env: dict[str, str], secret_values: dict[str, str],
                 where: str) -> None:
    value = holder.get(key)
    if value is None or (isinstance(value, str) and ENV_RE.match(value)):
        return  # absent, or already supplied through the environment by the operator
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True)
    env[var] = json_inner(value)
    if "{{" not in value:
        secret_values[where] = value
    holder[key] = "${" + var + "}"


def _plugin_schema() -> dict[str, Any]:
    """The plugin's own JSON Schema, or {} when its loader cannot be imported here (the judge
    then reports that, and the result is not ok)."""
    try:
        schema: dict[str, Any] = plugin_package.module("config").load_schema()
    except ImportError:
        return {}
    return schema


def secret_keys(definition: str) -> tuple[str, ...]:
    """The keys the plugin's schema marks ``x-secret`` in ``$defs/<definition>``: these move to
    the environment file."""
    props = _plugin_schema().get("$defs", {}).get(definition, {}).get("properties", {})
    return tuple(k for k, v in props.items() if v.get("x-secret"))


# ---------------------------------------------------------------------------------------------
# The outbound proxy: one inventory variable, the plugin's Proxy and Orthanc's https_proxy


def _proxy_input(inp: _Inputs) -> Optional[dict[str, Any]]:
    """orthanc_outbound_proxy with its types checked, or None (unset or malformed)."""
    raw = inp.v["orthanc_outbound_proxy"]
    if raw in (None, {}):
        return None
    where, fix = "orthanc_outbound_proxy", "See roles/config/README.md (orthanc_outbound_proxy)."
    if not isinstance(raw, dict) or set(raw) - PROXY_KEYS or not isinstance(raw.get("url"), str):
        inp.bad(where, "must be a mapping with url and optionally username, password, no_proxy", fix)
        return None
    for key in ("username", "password"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            inp.bad(f"{where}.{key}", "must be a string", fix)
            return None
    if isinstance(raw.get("password"), str) and ENV_RE.match(raw["password"]):
        inp.bad(f"{where}.password", "cannot be a ${VAR}: Orthanc's proxy (https_proxy) needs it URL-encoded",
                "Give the value itself (from Vault); the compiler keeps it out of orthanc.json.")
        return None
    no_proxy = raw.get("no_proxy") or []
    if not isinstance(no_proxy, list) or not all(isinstance(h, str) and h.strip() for h in no_proxy):
        inp.bad(f"{where}.no_proxy", "must be a list of host names, addresses or CIDR ranges", fix)
        return None
    return {"Url": raw["url"], "Username": raw.get("username") or None, "Password": raw.get("password") or None,
            "NoProxy": [h.strip() for h in no_proxy]}


def _proxy_judged(inp: _Inputs, proxy: dict[str, Any]) -> bool:
    """The plugin's own proxy rules on the inventory's proxy (one judge, with or without the
    plugin on this host); a refused proxy is never rendered."""
    try:
        errors = plugin_package.module("proxy").proxy_errors({k: v for k, v in proxy.items() if v is not None},
                                                             "orthanc_outbound_proxy")
    except ImportError as e:
        inp.bad("orthanc_outbound_proxy", f"the plugin's loader cannot be imported on the controller ({e.name or e})",
                loader_fix(e))
        return False
    for err in errors:
        path = (err.key or "orthanc_outbound_proxy").replace(".Url", ".url").replace(".Username", ".username")
        inp.findings.append(Finding(err.code, "high", inp.host, path, err.detail, " ".join(err.spec.troubleshooting)))
    return not errors


def _outbound_proxy(inp: _Inputs, env: dict[str, str], secret_values: dict[str, str]) -> Optional[dict[str, Any]]:
    """The plugin's Proxy (password as ${VAR}), and the same proxy for Orthanc's libcurl through
    the service environment (https_proxy, http_proxy, no_proxy), never through HttpProxy: Orthanc
    logs HttpProxy, credentials included, when it starts with --verbose (measured on 1.10)."""
    proxy = _proxy_input(inp)
    if proxy is None or not _proxy_judged(inp, proxy):
        return None
    p = urlsplit(proxy["Url"])
    userinfo = ""
    plugin: dict[str, Any] = {"Url": proxy["Url"], "NoProxy": proxy["NoProxy"]}
    if proxy["Username"]:
        userinfo = quote(proxy["Username"], safe="")
        plugin["Username"] = proxy["Username"]
    password = proxy["Password"]
    if password:
        resolved = "{{" not in password  # a Vault lookup is resolved on the controller at run time
        env["DWO_PROXY_PASSWORD"] = json_inner(password)
        if resolved:
            secret_values["orthanc_outbound_proxy.password"] = password
        userinfo += ":" + (quote(password, safe="") if resolved else password)
        plugin["Password"] = "${DWO_PROXY_PASSWORD}"  # noqa: S105 - a reference, not a password
    netloc = f"{userinfo}@{p.netloc}" if userinfo else p.netloc
    env["https_proxy"] = env["http_proxy"] = f"{p.scheme}://{netloc}"
    env["no_proxy"] = ",".join(dict.fromkeys([*proxy["NoProxy"], *ALWAYS_NO_PROXY]))
    return plugin


def _dicom_tls(inp: _Inputs, cfg: dict[str, Any], files: dict[str, str], secret_values: dict[str, str]) -> None:
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


def _secret_to_file(srv: dict[str, Any], sname: str, directory: str, files: dict[str, str],
                    secret_values: dict[str, str]) -> None:
    """A server's ClientSecret becomes a ClientSecretFile in ``directory`` (not for the
    operator's own ${VAR}, nor a value that is not a string: the judge reports that)."""
    value = srv.get("ClientSecret")
    if not isinstance(value, str) or ENV_RE.match(value) or "ClientSecretFile" in srv:
        return
    path = f"{directory.rstrip('/')}/{sname}.client-secret"
    files[path] = value
    if "{{" not in value:
        secret_values[f"DicomWebOAuth.Servers.{sname}.ClientSecret"] = value
    del srv["ClientSecret"]
    srv["ClientSecretFile"] = path


def _oauth_section(inp: _Inputs, env: dict[str, str], secret_values: dict[str, str], files: dict[str, str],
                   allowed: list[str], proxy: Optional[dict[str, Any]] = None) -> Optional[dict[str, Any]]:
    """The DicomWebOAuth section with its client secrets moved to files and its other secrets to
    the environment, the private hosts the inventory allows, and the REST API's rate limit written
    out."""
    raw = inp.v["orthanc_dicomweb_oauth"]
    if raw is None:
        return None
    if not isinstance(raw, dict):
        inp.bad("orthanc_dicomweb_oauth", "must be a mapping (the DicomWebOAuth section)", "See docs/configuration.md.")
        return None
    section = copy.deepcopy(raw)
    servers = section.get("Servers")
    for sname, srv in sorted(servers.items()) if isinstance(servers, dict) else ():
        if isinstance(srv, dict):
            _secret_to_file(srv, str(sname), inp.path("orthanc_secrets_directory"), files, secret_values)
        for key in secret_keys("server") if isinstance(srv, dict) else ():
            _move_secret(srv, key, env_name("DWO", sname, key), env, secret_values,
                         f"DicomWebOAuth.Servers.{sname}.{key}")
    cache = section.get("Cache")
    if isinstance(cache, dict):
        for key in secret_keys("cache"):
            _move_secret(cache, key, env_name("DWO_CACHE", key), env, secret_values, f"DicomWebOAuth.Cache.{key}")
    _proxy_secrets(section, env, secret_values)
    if proxy is not None:
        if "Proxy" in section:
            inp.bad("orthanc_dicomweb_oauth.Proxy", "is set while orthanc_outbound_proxy is set too",
                    "Set the proxy once, in orthanc_outbound_proxy: it gives the plugin and Orthanc the same proxy.")
        else:
            section["Proxy"] = proxy
    own = section.get("AllowPrivateHosts", [])
    if allowed and isinstance(own, list) and all(isinstance(h, str) for h in own):
        section["AllowPrivateHosts"] = sorted(set(own) | set(allowed))
    if not {"RateLimit", "RateLimitRequests", "RateLimitWindowSeconds"} & set(section):
        section["RateLimit"] = _rate_limit_defaults()  # so that orthanc.json states the limit
    return section


def _proxy_secrets(section: dict[str, Any], env: dict[str, str], secret_values: dict[str, str]) -> None:
    """A password written in the section's own Proxy objects moves to the environment too."""
    holders = [("DWO_PROXY", section.get("Proxy"), "DicomWebOAuth.Proxy")]
    servers = section.get("Servers")
    for sname, srv in sorted(servers.items()) if isinstance(servers, dict) else ():
        if isinstance(srv, dict):
            holders.append((f"DWO_{sname}_PROXY", srv.get("Proxy"), f"DicomWebOAuth.Servers.{sname}.Proxy"))
    for prefix, holder, where in holders:
        if isinstance(holder, dict):
            for key in secret_keys("proxy"):
                _move_secret(holder, key, env_name(prefix, key), env, secret_values, f"{where}.{key}")


def _rate_limit_defaults() -> dict[str, Any]:
    props = _plugin_schema().get("properties", {}).get("RateLimit", {}).get("properties", {})
    return {k: v["default"] for k, v in props.items()}


def as_orthanc_reads_it(rendered: str, env: dict[str, str]) -> Any:
    """orthanc.json as Orthanc parses it: ``${VAR}`` replaced in the text from the environment
    file. A template not resolved offline (a Vault lookup) stays a reference, for the host."""
    def value(m: re.Match[str]) -> str:
        known = env.get(m.group(1))
        return known if known is not None and "{{" not in known else m.group(0)
    return json.loads(ENV_REF_RE.sub(value, rendered))


def loader_fix(e: ImportError) -> str:
    """What to do when the plugin's loader does not import: a library missing on the controller,
    or the plugin's own sources in this collection broken (then every Orthanc would refuse them too)."""
    if isinstance(e, ModuleNotFoundError) and e.name and not e.name.startswith("orthanc_dicomweb_oauth"):
        return f"pip install {e.name} on the controller (the plugin's loader needs jsonschema)"
    return f"the plugin's sources shipped in this collection do not import ({e}): install an intact collection"


def _judge_section(host: str, rendered: str, env: dict[str, str]) -> tuple[list[Finding], list[str]]:
    """The plugin's own loader on the section, as Orthanc will hand it over; files and unknown
    variables are left to the host."""
    try:
        settings = plugin_package.module("orthanc_settings")
    except ImportError as e:
        return [Finding("INPUT", "high", host, "DicomWebOAuth", f"the plugin's loader cannot be imported on the "
                        f"controller ({e.name or e})", loader_fix(e))], []
    full = as_orthanc_reads_it(rendered, env)
    pcfg, errors = settings.judge(full, {}, defer=True, host_files=False, service_environ=env)
    findings = [Finding(e.code, "high", host, e.key or "DicomWebOAuth",
                        (f"server '{e.server}': " if e.server else "") + e.detail, " ".join(e.spec.troubleshooting))
                for e in errors]
    return findings, list(pcfg.warnings) if pcfg is not None else []


def _extra(inp: _Inputs, cfg: dict[str, Any]) -> None:
    extra = inp.mapping("orthanc_extra_config", "orthanc_extra_config: {Key: value}")
    for key in sorted(extra, key=str):
        if key in MANAGED_KEYS:
            inp.bad(f"orthanc_extra_config.{key}", "is managed by the compiler",
                    "Use the orthanc_* variable for it (see roles/config/README.md).")
        else:
            cfg[str(key)] = copy.deepcopy(extra[key])


def _waivers(inp: _Inputs) -> dict[str, str]:
    waivers = inp.v["orthanc_hardening_waivers"] or []
    if not isinstance(waivers, list):
        inp.bad("orthanc_hardening_waivers", "must be a list of {id, reason}", "See docs/hardening.md.")
        return {}
    out = {}
    for i, w in enumerate(waivers):
        wid = w.get("id") if isinstance(w, dict) else None
        reason = w.get("reason") if isinstance(w, dict) else None
        where = f"orthanc_hardening_waivers[{i}]"
        if isinstance(wid, str) and wid in RETIRED_RULES:
            inp.bad(where, f"{wid} is retired: {RETIRED_RULES[wid]}", "Remove this waiver.")
        elif not isinstance(wid, str) or wid not in RULES_BY_ID:
            inp.bad(where, "id is not a known rule id", "Use an id from docs/hardening.md.")
        elif not RULES_BY_ID[wid].waivable:
            inp.bad(where, f"{wid} cannot be waived: {RULES_BY_ID[wid].rationale}", RULES_BY_ID[wid].fix)
        elif not isinstance(reason, str) or len(reason.strip()) < 10:
            inp.bad(where, f"waiver of {wid} has no written reason",
                    "Add reason: with why this host may break the rule.")
        else:
            out[wid] = reason.strip()
    return out


def _rules(inp: _Inputs, cfg: dict[str, Any], ctx: dict[str, Any]) -> tuple[list[Finding], list[dict[str, str]]]:
    waived_ids = _waivers(inp)
    findings, waived = [], []
    for rule in RULES:
        for path, message in rule.check(cfg, ctx):
            if rule.id in waived_ids and rule.waivable:
                waived.append({"rule": rule.id, "path": path, "reason": waived_ids[rule.id], "host": inp.host})
            else:
                findings.append(Finding(rule.id, rule.severity, inp.host, path, message, rule.fix))
    return findings, waived


def compile_host(host: str, hostvars: dict[str, Any]) -> Result:
    """Compile one host. Never raises on bad input: problems become findings."""
    inp = _Inputs(host, hostvars)
    env: dict[str, str] = {}
    secret_values: dict[str, str] = {}
    files: dict[str, str] = {}
    cfg = _orthanc_settings(inp)
    cfg["RegisteredUsers"], user_passwords = _users(inp, env, secret_values)
    _dicom_tls(inp, cfg, files, secret_values)
    allowed = inp.strings("orthanc_oauth_allow_private_hosts", "orthanc_oauth_allow_private_hosts: [idp.example.lan]")
    section = _oauth_section(inp, env, secret_values, files, allowed, _outbound_proxy(inp, env, secret_values))
    if section is not None:
        cfg["DicomWebOAuth"] = section
        cfg["Plugins"].append(f"{cfg['Plugins'][0].rsplit('/', 1)[0]}/libOrthancPython.so")
        cfg["PythonScript"] = inp.path("orthanc_oauth_plugin_script")
    _extra(inp, cfg)
    for path in _non_finite(cfg, "orthanc.json"):
        inp.bad(path, "is not a finite number", "JSON has no nan or infinity: use a number.")
    if any(f.message == "is not a finite number" for f in inp.findings):
        return Result(host, cfg, "", env, sorted(inp.findings, key=_order), [], secret_files=files)
    rendered = render(cfg)
    warnings: list[str] = []
    findings: list[Finding] = []
    if section is not None:
        findings, warnings = _judge_section(host, rendered, env)
    ctx = {"user_passwords": user_passwords, "secret_values": secret_values, "rendered": rendered}
    rule_findings, waived = _rules(inp, cfg, ctx)
    all_findings = sorted(inp.findings + findings + rule_findings, key=_order)
    return Result(host, cfg, rendered, env, all_findings, waived, warnings, files)


def _order(f: Finding) -> tuple[str, str, str]:
    return (f.rule, f.path, f.message)


def provider_checks(config: dict[str, Any], env: dict[str, str]) -> list[dict[str, Any]]:
    """For the preflight: each identity provider endpoint the inventory names (TokenEndpoint, else
    the Issuer's discovery document) with its server's TLS settings and its route, decided by the
    plugin's own proxy rules. A proxied probe gets the proxy's address in its environment and the
    credentials as a Proxy-Authorization header (urllib sends it in CONNECT only); a direct one
    gets no_proxy=*. Without any proxy setting the host's environment decides, as for the plugin."""
    section = config.get("DicomWebOAuth") or {}
    servers = section.get("Servers")
    checks = []
    for name, srv in sorted(servers.items()) if isinstance(servers, dict) else ():
        if not isinstance(srv, dict):
            continue
        url = srv.get("TokenEndpoint") or (srv["Issuer"].rstrip("/") + "/.well-known/openid-configuration"
                                           if isinstance(srv.get("Issuer"), str) else None)
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            continue
        route = srv.get("Proxy", section.get("Proxy"))
        checks.append({"server": name, "url": url, "verify": srv.get("VerifySSL", True) is not False,
                       "ca": srv.get("CaBundle") or "", **_probe_route(url, route, env)})
    return checks


def _probe_route(url: str, proxy: Any, env: dict[str, str]) -> dict[str, Any]:
    if proxy is None:
        return {"environment": {}, "headers": {}}
    proxy_mod = plugin_package.module("proxy")
    direct = {"environment": {"no_proxy": "*", "NO_PROXY": "*"}, "headers": {}}
    if not isinstance(proxy, dict) or proxy_mod.goes_direct(urlsplit(url).hostname or "", proxy.get("NoProxy", [])):
        return direct
    via = {k: proxy["Url"] for k in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")}
    headers = {}
    if proxy.get("Username"):
        password = _env_value(proxy.get("Password"), env)
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(
            f"{proxy['Username']}:{password}".encode()).decode()
    return {"environment": {**via, "no_proxy": "", "NO_PROXY": ""}, "headers": headers}


def _env_value(value: Any, env: dict[str, str]) -> str:
    """A ${VAR} of the environment file as the service reads it (json_inner undone)."""
    m = ENV_REF_RE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return str(value or "")
    raw = env.get(m.group(1), "")
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw


def render_environment(env: dict[str, str]) -> str:
    """The systemd EnvironmentFile text (values quoted, sorted)."""
    lines = ["# Managed by dicomweb_oauth.orthanc: secrets for orthanc.json's ${VAR} references (and",
             "# the outbound proxy of Orthanc's HTTP client, with its credentials, when one is set)."]
    for k in sorted(env):
        value = env[k].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{k}="{value}"')
    return "\n".join(lines) + "\n"
