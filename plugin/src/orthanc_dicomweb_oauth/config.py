"""Loading the DicomWebOAuth section: ${VAR} substitution, older-plugin compatibility,
validation against the one JSON Schema, defaults, and the security policy checks that a schema
cannot express. Every refusal is an ``OAuthPluginError`` with a CFG- or SEC- code naming the
server and key."""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Optional
from urllib.parse import urlsplit

import jsonschema

from .errors import OAuthPluginError
from .redaction import Secret, get_logger, kv

SECTION = "DicomWebOAuth"
SCHEMA_RESOURCE = "dicomweb-oauth.schema.json"
_ENV_RE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEYS = {"ClientSecret", "ServiceAccountKey", "RedisPassword", "EncryptionKey"}
_log = get_logger()


def schema_path() -> str:
    return str(resources.files(__package__).joinpath("schema", SCHEMA_RESOURCE))


def load_schema() -> dict[str, Any]:
    with open(schema_path(), encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@dataclass(frozen=True)
class ResilienceConfig:
    max_retries: int = 3
    strategy: str = "exponential"
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    breaker_enabled: bool = True
    breaker_threshold: int = 5
    breaker_timeout: float = 60.0


@dataclass(frozen=True)
class JwtConfig:
    enabled: bool = False
    audience: Optional[str] = None
    issuer: Optional[str] = None
    algorithms: tuple[str, ...] = ("RS256",)
    public_key: Optional[str] = None
    jwks_uri: Optional[str] = None


@dataclass(frozen=True)
class ServerConfig:
    name: str
    url: str
    provider_type: str
    token_endpoint: Optional[str] = None
    issuer: Optional[str] = None
    tenant_id: Optional[str] = None
    client_id: Optional[str] = None
    client_secret: Optional[Secret] = None
    client_auth_method: str = "client_secret_basic"
    scope: Optional[str] = None
    audience: Optional[str] = None
    resource: Optional[str] = None
    service_account_key: Optional[Secret] = None
    metadata_url: Optional[str] = None
    verify_ssl: bool = True
    ca_bundle: Optional[str] = None
    refresh_buffer: float = 300.0
    token_timeout: float = 10.0
    jwt: JwtConfig = field(default_factory=JwtConfig)
    resilience: ResilienceConfig = field(default_factory=ResilienceConfig)
    dicomweb: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tls_verify(self) -> bool | str:
        """The value for requests' ``verify``."""
        if not self.verify_ssl:
            return False
        return self.ca_bundle or True


@dataclass(frozen=True)
class CacheConfig:
    backend: str = "memory"
    redis_url: Optional[str] = None
    redis_password: Optional[Secret] = None
    redis_ca_bundle: Optional[str] = None
    key_prefix: str = "dicomweb-oauth:"
    encryption_key: Optional[Secret] = None
    lock_timeout: float = 15.0


@dataclass(frozen=True)
class PluginConfig:
    servers: Mapping[str, ServerConfig]
    cache: CacheConfig = field(default_factory=CacheConfig)
    rate_limit_requests: int = 10
    rate_limit_window: int = 60
    log_level: str = "info"
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# ${VAR}


def substitute_env(value: Any, environ: Mapping[str, str], path: str = SECTION) -> Any:
    """Replace ``${VAR}`` in every string; ``$${`` stays a literal ``${``."""
    if isinstance(value, dict):
        return {k: substitute_env(v, environ, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, environ, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return "${" + m.group(2) + "}"
        name = m.group(2)
        if name not in environ:
            raise OAuthPluginError(
                "CFG-003", f"environment variable {name} is not set", key=path)
        return environ[name]

    return _ENV_RE.sub(repl, value)


# ---------------------------------------------------------------------------------------------
# The older orthanc-dicomweb-oauth plugin

_LEGACY_RESILIENCE = {
    "CircuitBreakerEnabled": "CircuitBreakerEnabled",
    "CircuitBreakerFailureThreshold": "CircuitBreakerThreshold",
    "CircuitBreakerTimeout": "CircuitBreakerTimeoutSeconds",
    "RetryMaxAttempts": "MaxRetries",
    "RetryStrategy": "RetryStrategy",
    "RetryInitialDelay": "RetryInitialDelaySeconds",
    "RetryMultiplier": "RetryMultiplier",
    "RetryMaxDelay": "RetryMaxDelaySeconds",
    "RetryIncrement": "RetryMultiplier",
}


def migrate_legacy(section: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Turn the older plugin's keys into ours. Returns the new section and one note per key
    moved, so the operator can see what to change. Keys that cannot be mapped are refused
    with CFG-004 and the exact replacement."""
    notes: list[str] = []
    out = copy.deepcopy(section)
    rl = out.setdefault("RateLimit", {}) if (
        "RateLimitRequests" in out or "RateLimitWindowSeconds" in out) else None
    for old, new in (("RateLimitRequests", "Requests"), ("RateLimitWindowSeconds", "WindowSeconds")):
        if old in out:
            assert rl is not None
            if new in rl:
                raise OAuthPluginError(
                    "CFG-004", f"both {old} and RateLimit.{new} are set; remove {old}",
                    key=f"{SECTION}.{old}")
            rl[new] = out.pop(old)
            notes.append(f"{SECTION}.{old} is deprecated: write RateLimit.{new} instead")
    servers = out.get("Servers")
    if isinstance(servers, dict):
        for name, srv in servers.items():
            if not isinstance(srv, dict):
                continue
            legacy = srv.get("ResilienceConfig")
            if legacy is None:
                continue
            path = f"{SECTION}.Servers.{name}.ResilienceConfig"
            if "Resilience" in srv:
                raise OAuthPluginError(
                    "CFG-004", "both ResilienceConfig and Resilience are set; keep only Resilience",
                    server=name, key=path)
            if not isinstance(legacy, dict):
                raise OAuthPluginError("CFG-004", "ResilienceConfig must be an object", server=name, key=path)
            new_block: dict[str, Any] = {}
            for k, v in legacy.items():
                if k not in _LEGACY_RESILIENCE:
                    raise OAuthPluginError(
                        "CFG-004",
                        f"ResilienceConfig.{k} has no equivalent; remove it (the Resilience keys "
                        f"are {', '.join(sorted(set(_LEGACY_RESILIENCE.values())))})",
                        server=name, key=f"{path}.{k}")
                if k == "RetryIncrement" and legacy.get("RetryStrategy") != "linear":
                    continue
                new_block[_LEGACY_RESILIENCE[k]] = v
            if "RetryMultiplier" in legacy and "RetryIncrement" in legacy and legacy.get("RetryStrategy") == "linear":
                new_block["RetryMultiplier"] = legacy["RetryIncrement"]
            srv.pop("ResilienceConfig")
            srv["Resilience"] = new_block
            moved = ", ".join(f"{k} -> Resilience.{_LEGACY_RESILIENCE[k]}" for k in legacy)
            notes.append(f"{path} is deprecated: {moved}")
    return out, notes


_LEGACY_PROXY_RE = re.compile(r"/oauth-dicom-web/servers/([^/]+)/?$")


def legacy_proxy_server(url: str) -> Optional[str]:
    """The server name if ``url`` is the older plugin's local proxy path, else None."""
    m = _LEGACY_PROXY_RE.search(urlsplit(url).path) if url else None
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------
# Schema


def _schema_error_message(err: jsonschema.ValidationError, schema: dict[str, Any]) -> tuple[str, str, Optional[str]]:
    path = [str(p) for p in err.absolute_path]
    key = ".".join([SECTION, *path])
    server = path[1] if len(path) >= 2 and path[0] == "Servers" else None
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        known = list(err.schema.get("properties", {}))
        hints = []
        for k in extra:
            close = difflib.get_close_matches(k, known, n=1)
            hints.append(f"unknown key {k}" + (f" (did you mean {close[0]}?)" if close else ""))
        return key, "; ".join(hints), server
    if err.validator == "required":
        return key, err.message.replace("'", ""), server
    leaf = path[-1] if path else ""
    if err.validator == "minLength" and err.instance == "":
        # Orthanc itself replaces ${VAR} in orthanc.json before the plugin sees it, and an
        # unset variable becomes "": say so, since that is the likely cause.
        return key, ("is empty; if it is written as ${VAR}, that environment variable is not set "
                     "for the Orthanc service"), server
    # Never echo a value that might be a secret.
    if leaf in _SECRET_KEYS:
        return key, f"invalid value ({err.validator} {err.validator_value!r} not satisfied)", server
    return key, err.message, server


def validate_schema(section: Any) -> None:
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(section), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        key, msg, server = _schema_error_message(errors[0], schema)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise OAuthPluginError("CFG-002", msg + more, server=server, key=key)


def schema_errors(section: Any) -> list[str]:
    """Every schema finding as one line each (for the config compiler)."""
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for e in sorted(validator.iter_errors(section), key=lambda e: [str(p) for p in e.absolute_path]):
        key, msg, _server = _schema_error_message(e, schema)
        out.append(f"{key}: {msg}")
    return out


def _defaults(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    """Top-level defaults of the object ``$defs/ref`` (or of the root when ref is empty)."""
    node = schema["$defs"][ref] if ref else schema
    return {k: v["default"] for k, v in node.get("properties", {}).items() if "default" in v}


# ---------------------------------------------------------------------------------------------
# Policy


def is_loopback_host(host: Optional[str]) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_https(url: str, name: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise OAuthPluginError(
            "SEC-003", f"{url.split('?')[0]} uses plain http", server=name, key=key)


def decode_encryption_key(secret: Secret, key: str) -> bytes:
    try:
        raw = base64.b64decode(secret.reveal(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise OAuthPluginError(
            "CFG-008", "EncryptionKey must be base64 of exactly 32 bytes", key=key)
    return raw


# ---------------------------------------------------------------------------------------------


def _opt_secret(v: Optional[str]) -> Optional[Secret]:
    return Secret(v) if v else None


def _server(name: str, raw: dict[str, Any], schema: dict[str, Any]) -> ServerConfig:
    from .providers.detect import detect_provider  # providers import config types

    s = {**_defaults(schema, "server"), **raw}
    res = {**_defaults(schema, "resilience"), **s.get("Resilience", {})}
    path = f"{SECTION}.Servers.{name}"

    if not s["VerifySSL"] and not s["AllowInsecureSSL"]:
        raise OAuthPluginError(
            "SEC-001", "VerifySSL is false but AllowInsecureSSL is not true",
            server=name, key=f"{path}.VerifySSL")
    headers = s.get("HttpHeaders", {})
    if any(h.lower() == "authorization" for h in headers):
        raise OAuthPluginError("SEC-006", "HttpHeaders must not set Authorization",
                               server=name, key=f"{path}.HttpHeaders")
    if legacy_proxy_server(s["Url"]):
        raise OAuthPluginError(
            "CFG-005", f"Url {s['Url']} is the older plugin's proxy path; set the real remote "
            "DICOMweb URL", server=name, key=f"{path}.Url")
    _require_https(s["Url"], name, f"{path}.Url")
    for k in ("TokenEndpoint", "Issuer", "JwksUri"):
        if s.get(k):
            _require_https(s[k], name, f"{path}.{k}")
    if s.get("CaBundle") and not os.path.isfile(s["CaBundle"]):
        raise OAuthPluginError("CFG-009", f"CaBundle {s['CaBundle']} is not a readable file",
                               server=name, key=f"{path}.CaBundle")

    provider = s["ProviderType"]
    if provider == "auto":
        provider = detect_provider(s.get("TokenEndpoint") or s.get("Issuer"))

    sa_key = s.get("ServiceAccountKey")
    if s.get("ServiceAccountKeyFile"):
        try:
            with open(s["ServiceAccountKeyFile"], encoding="utf-8") as f:
                sa_key = f.read()
        except OSError as e:
            raise OAuthPluginError(
                "CFG-009", f"cannot read ServiceAccountKeyFile ({e.strerror})",
                server=name, key=f"{path}.ServiceAccountKeyFile") from None

    auth_method = s.get("ClientAuthMethod") or (
        "client_secret_post" if provider == "azure" else "client_secret_basic")
    scope = s.get("Scope")
    if provider == "azure" and not scope and s.get("Resource"):
        scope = s["Resource"].rstrip("/") + "/.default"

    missing: list[str] = []
    if provider in ("generic", "azure"):
        if not (s.get("TokenEndpoint") or s.get("Issuer") or (provider == "azure" and s.get("TenantId"))):
            missing.append("TokenEndpoint or Issuer" + (" or TenantId" if provider == "azure" else ""))
        missing += [k for k in ("ClientId", "ClientSecret") if not s.get(k)]
        if provider == "azure" and not scope:
            missing.append("Scope or Resource")
    elif provider == "azure-managed-identity" and not s.get("Resource"):
        missing.append("Resource")
    elif provider == "google" and not sa_key:
        missing.append("ServiceAccountKeyFile or ServiceAccountKey")
    if missing:
        raise OAuthPluginError("CFG-007", f"provider {provider} needs {', '.join(missing)}",
                               server=name, key=path)

    jwt_enabled = bool(s["ValidateJWT"] or s.get("JWTAudience") or s.get("JWTIssuer") or s.get("JWTPublicKey"))
    if jwt_enabled and not (s.get("JWTPublicKey") or s.get("JwksUri") or s.get("Issuer")):
        raise OAuthPluginError(
            "CFG-007", "JWT validation needs JWTPublicKey, JwksUri or Issuer (for discovery)",
            server=name, key=f"{path}.ValidateJWT")

    dicomweb: dict[str, Any] = {k: s[k] for k in ("HasDelete", "Timeout", "ChunkedTransfers", "HttpHeaders") if k in s}
    return ServerConfig(
        name=name,
        url=s["Url"],
        provider_type=provider,
        token_endpoint=s.get("TokenEndpoint"),
        issuer=s.get("Issuer"),
        tenant_id=s.get("TenantId"),
        client_id=s.get("ClientId"),
        client_secret=_opt_secret(s.get("ClientSecret")),
        client_auth_method=auth_method,
        scope=scope,
        audience=s.get("Audience"),
        resource=s.get("Resource"),
        service_account_key=_opt_secret(sa_key),
        metadata_url=s.get("MetadataUrl"),
        verify_ssl=s["VerifySSL"],
        ca_bundle=s.get("CaBundle"),
        refresh_buffer=float(s["TokenRefreshBufferSeconds"]),
        token_timeout=float(s["TokenTimeoutSeconds"]),
        jwt=JwtConfig(
            enabled=jwt_enabled,
            audience=s.get("JWTAudience"),
            issuer=s.get("JWTIssuer"),
            algorithms=tuple(s["JWTAlgorithms"]),
            public_key=s.get("JWTPublicKey"),
            jwks_uri=s.get("JwksUri"),
        ),
        resilience=ResilienceConfig(
            max_retries=res["MaxRetries"],
            strategy=res["RetryStrategy"],
            initial_delay=float(res["RetryInitialDelaySeconds"]),
            multiplier=float(res["RetryMultiplier"]),
            max_delay=float(res["RetryMaxDelaySeconds"]),
            max_retry_after=float(res["MaxRetryAfterSeconds"]),
            breaker_enabled=res["CircuitBreakerEnabled"],
            breaker_threshold=res["CircuitBreakerThreshold"],
            breaker_timeout=float(res["CircuitBreakerTimeoutSeconds"]),
        ),
        dicomweb=dicomweb,
    )


def _cache(raw: dict[str, Any], schema: dict[str, Any]) -> CacheConfig:
    c = {**_defaults(schema, "cache"), **raw}
    key = f"{SECTION}.Cache"
    enc = _opt_secret(c.get("EncryptionKey"))
    if c["Backend"] == "redis":
        if not c.get("RedisUrl"):
            raise OAuthPluginError("CFG-008", "Backend redis needs RedisUrl", key=f"{key}.RedisUrl")
        if enc is None:
            raise OAuthPluginError("CFG-008", "Backend redis needs EncryptionKey",
                                   key=f"{key}.EncryptionKey")
        decode_encryption_key(enc, f"{key}.EncryptionKey")
    return CacheConfig(
        backend=c["Backend"],
        redis_url=c.get("RedisUrl"),
        redis_password=_opt_secret(c.get("RedisPassword")),
        redis_ca_bundle=c.get("RedisCaBundle"),
        key_prefix=c["KeyPrefix"],
        encryption_key=enc,
        lock_timeout=float(c["LockTimeoutSeconds"]),
    )


def load_config(section: Any, environ: Optional[Mapping[str, str]] = None) -> PluginConfig:
    """Turn the raw DicomWebOAuth value from orthanc.json into a checked ``PluginConfig``."""
    if not isinstance(section, dict):
        raise OAuthPluginError("CFG-001", "DicomWebOAuth must be an object with a Servers map",
                               key=SECTION)
    section = substitute_env(section, os.environ if environ is None else environ)
    section, notes = migrate_legacy(section)
    validate_schema(section)
    schema = load_schema()
    for n in notes:
        _log.warning(kv("config.deprecated", note=n))
    servers = {name: _server(name, raw, schema) for name, raw in section["Servers"].items()}
    warnings = list(notes)
    for srv in servers.values():
        if not srv.verify_ssl:
            msg = f"SEC-004 (server '{srv.name}'): TLS verification of the identity provider is DISABLED"
            _log.warning(msg)
            warnings.append(msg)
    rl = {**_defaults(schema, ""), **section}.get("RateLimit") or {}
    return PluginConfig(
        servers=servers,
        cache=_cache(section.get("Cache", {}), schema),
        rate_limit_requests=int(rl.get("Requests", 10)),
        rate_limit_window=int(rl.get("WindowSeconds", 60)),
        log_level=section.get("LogLevel", "info"),
        warnings=tuple(warnings),
    )
