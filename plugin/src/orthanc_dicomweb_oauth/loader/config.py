"""Loading the DicomWebOAuth section: ${VAR} substitution, older-plugin compatibility
(``legacy``), validation against the one JSON Schema, defaults, and the security policy that a
schema cannot express (``policy``). Every refusal is an ``OAuthPluginError`` with a CFG- or SEC-
code naming the server and key, and all of them are reported at once.

This is the one judge of a configuration: the plugin calls it inside Orthanc, and the Ansible
config compiler calls the same function on the controller. So it imports nothing that only the
plugin's runtime needs (requests, cryptography, jwt, redis, prometheus_client)."""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Optional

import jsonschema

from .errors import OAuthPluginError
from .legacy import legacy_proxy_server, loaded_provider_type, migrate_legacy
from .policy import URL_KEYS, allowed_host_errors, allowed_hosts, check_headers, check_redis_url, check_url, safe_url
from .provider_detect import detect_provider
from .proxy import ProxyConfig, build_proxy, proxy_errors
from .redaction import Secret, get_logger, kv
from .secret_file import SecretFile, file_errors

SECTION = "DicomWebOAuth"
SCHEMA_RESOURCE = "dicomweb-oauth.schema.json"
_ENV_RE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_log = get_logger()


def schema_path() -> str:
    return str(resources.files(__package__).joinpath("schema", SCHEMA_RESOURCE))


def load_schema() -> dict[str, Any]:
    with open(schema_path(), encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


# A server name as the schema allows it (the REST API checks route names against it).
_SCHEMA_AT_IMPORT = load_schema()
SERVER_NAME = re.compile(_SCHEMA_AT_IMPORT["properties"]["Servers"]["propertyNames"]["pattern"].strip("^$"))
# The REST API's rate limit when the section gives none: the schema's defaults, the one place.
_RATE_LIMIT = _SCHEMA_AT_IMPORT["properties"]["RateLimit"]["properties"]
RATE_LIMIT_REQUESTS: int = _RATE_LIMIT["Requests"]["default"]
RATE_LIMIT_WINDOW: int = _RATE_LIMIT["WindowSeconds"]["default"]


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
    probe_max_delay: float = 4.0


@dataclass(frozen=True)
class JwtConfig:
    enabled: bool = False
    audience: Optional[str] = None
    issuer: Optional[str] = None
    algorithms: tuple[str, ...] = ("RS256",)
    public_key: Optional[str] = None
    jwks_uri: Optional[str] = None
    poll_seconds: float = 3.0


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
    # The proxy of the plugin's requests for this server; ``proxy_explicit``: a Proxy setting
    # (global or this server's, ``false`` included) decides the route, not the environment.
    proxy: Optional[ProxyConfig] = None
    proxy_explicit: bool = False

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
    rate_limit_requests: int = RATE_LIMIT_REQUESTS
    rate_limit_window: int = RATE_LIMIT_WINDOW
    log_level: str = "info"
    warnings: tuple[str, ...] = ()


class ConfigRefused(OAuthPluginError):
    """Every problem of a refused section; code and text are the first one's."""

    def __init__(self, errors: list[OAuthPluginError]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more: {', '.join(e.code for e in errors[1:])})" if len(errors) > 1 else ""
        super().__init__(first.code, first.detail + more, server=first.server, key=first.key)
        self.errors = errors


# ---------------------------------------------------------------------------------------------
# ${VAR}


def substitute_env(value: Any, environ: Mapping[str, str], errors: list[OAuthPluginError],
                   path: str = SECTION, defer: bool = False) -> Any:
    """Replace ``${VAR}`` in every string; ``$${`` stays a literal ``${``. An unset variable is
    CFG-003, or (``defer``, at compile time) left as it is for the service's environment."""
    if isinstance(value, dict):
        return {k: substitute_env(v, environ, errors, f"{path}.{k}", defer) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, environ, errors, f"{path}[{i}]", defer) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match[str]) -> str:
        name = m.group(2)
        if m.group(1):
            return "${" + name + "}"
        if name in environ:
            return environ[name]
        if not defer:
            errors.append(OAuthPluginError("CFG-003", f"environment variable {name} is not set", key=path))
        return m.group(0)

    return _ENV_RE.sub(repl, value)


def _is_deferred(value: Any, defer: bool) -> bool:
    return defer and isinstance(value, str) and bool(_ENV_REF.fullmatch(value))


def _deferred(value: Any, path: str = SECTION) -> dict[str, list[str]]:
    """Key path -> the ``${NAME}`` references left in its value (compile time: only the Orthanc
    host's service environment knows them)."""
    if isinstance(value, dict):
        return {p: n for k, v in value.items() for p, n in _deferred(v, f"{path}.{k}").items()}
    if isinstance(value, list):
        return {p: n for i, v in enumerate(value) for p, n in _deferred(v, f"{path}[{i}]").items()}
    names = _ENV_REF.findall(value) if isinstance(value, str) else []
    return {path: names} if names else {}


def _within(key: Optional[str], path: str) -> bool:
    """Whether the key path ``key`` is ``path`` or lies under it."""
    return key is not None and (key == path or key.startswith(path + "."))


def _as_written(e: OAuthPluginError, renames: dict[str, str]) -> OAuthPluginError:
    """``e`` naming the key as the user wrote it (the older plugin's name), and how it was read."""
    where = max((p for p in renames if _within(e.key, p)), key=len, default=None)
    if where is None or e.key is None:
        return e
    return OAuthPluginError(e.code, f"{e.detail} (read as {where.removeprefix(SECTION + '.')})", server=e.server,
                            key=renames[where] + e.key[len(where):], retryable=e.retryable, retry_after=e.retry_after)


def _left_to_the_host(errors: list[OAuthPluginError], section: Any) -> tuple[list[OAuthPluginError], list[str]]:
    """At compile time, the checks of a value that still holds a ``${NAME}`` cannot be decided: they
    become notes that say so (the plugin decides them when Orthanc starts), not refusals of text
    that Orthanc never sees."""
    deferred = _deferred(section)
    kept, notes = [], []
    for e in errors:
        where = next((p for p in deferred if _within(e.key, p)), None)
        if where is None:
            kept.append(e)
            continue
        note = (f"{where} holds {', '.join(deferred[where])}, which only the Orthanc host's service environment "
                "knows, so it was not checked here; the plugin checks it when Orthanc starts (the deployment gate "
                "reports a refusal). To have it checked before deploying, write the value itself in the inventory "
                "(from an Ansible variable or a Vault lookup)")
        if note not in notes:
            notes.append(note)
    return kept, notes


# ---------------------------------------------------------------------------------------------
# Schema

_JSON_TYPES = {"object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _schema_text(err: jsonschema.ValidationError) -> str:
    """What is wrong, from the schema's side only: never the value itself (it may be a secret)."""
    v, want = err.validator, err.validator_value
    if v == "type":
        kinds = want if isinstance(want, list) else [want]
        return "must be " + " or ".join(_JSON_TYPES.get(str(k), str(k)) for k in kinds)
    if v == "enum":
        return "must be one of " + ", ".join(json.dumps(x) for x in want)
    if v == "minLength" and err.instance == "":
        # Orthanc replaces ${VAR} in orthanc.json before the plugin sees it, and an unset
        # variable becomes "": say so, since that is the likely cause.
        return ("is empty; if it is written as ${VAR}, that environment variable is not set for the "
                "Orthanc service")
    if v == "pattern":
        return "must start with https://" if "https?" in want else f"must match {want}"
    if v in ("minimum", "maximum", "minItems", "minLength"):
        sign = ">=" if v.startswith("min") else "<="
        what = {"minItems": "items", "minLength": "characters"}.get(v, "")
        return f"must be {sign} {want} {what}".rstrip() if not what else f"must have {sign} {want} {what}"
    if v == "oneOf":
        return "must be a Proxy object (Url, Username, Password, NoProxy) or false"
    if v == "required":
        return "missing " + ", ".join(k for k in want if isinstance(err.instance, dict) and k not in err.instance)
    return f"does not satisfy the schema ({v})"


def _schema_error(err: jsonschema.ValidationError) -> OAuthPluginError:
    path = [str(p) for p in err.absolute_path]
    key = ".".join([SECTION, *path])
    server = path[1] if len(path) >= 2 and path[0] == "Servers" else None
    if err.validator == "additionalProperties":
        known = list(err.schema.get("properties", {}))
        hints = []
        for k in sorted(str(x) for x in set(err.instance) - set(known)):
            close = difflib.get_close_matches(k, known, n=1)
            hints.append(f"unknown key {k[:64]}" + (f" (did you mean {close[0]}?)" if close else ""))
        return OAuthPluginError("CFG-002", "; ".join(hints), server=server, key=key)
    if err.validator == "propertyNames":
        return OAuthPluginError("CFG-002", f"server name {str(err.instance)[:64]!r} is not allowed: use 1 to 64 "
                                "letters, digits, '.', '_' or '-', starting with a letter or digit",
                                key=f"{key}.{str(err.instance)[:64]}")
    return OAuthPluginError("CFG-002", _schema_text(err), server=server, key=key)


def schema_errors(section: Any) -> list[OAuthPluginError]:
    """Every schema problem, one error each, in key order."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errs = sorted(validator.iter_errors(section), key=lambda e: [str(p) for p in e.absolute_path])
    return [_schema_error(e) for e in errs]


def _defaults(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    """Top-level defaults of the object ``$defs/ref`` (or of the root when ref is empty)."""
    node = schema["$defs"][ref] if ref else schema
    return {k: v["default"] for k, v in node.get("properties", {}).items() if "default" in v}


def decode_encryption_key(secret: Secret, key: str) -> bytes:
    try:
        raw = base64.b64decode(secret.reveal(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise OAuthPluginError("CFG-008", "EncryptionKey must be base64 of exactly 32 bytes", key=key)
    return raw


# ---------------------------------------------------------------------------------------------
# One server


@dataclass(frozen=True)
class _Resolved:
    provider: str
    scope: Optional[str]
    auth_method: str


def _resolve(s: dict[str, Any]) -> _Resolved:
    provider = _provider_of(s) or s["ProviderType"]  # the schema accepted it: a string
    scope = s.get("Scope")
    if provider == "azure" and not scope and s.get("Resource"):
        scope = s["Resource"].rstrip("/") + "/.default"
    auth = s.get("ClientAuthMethod") or ("client_secret_post" if provider == "azure" else "client_secret_basic")
    return _Resolved(provider, scope, auth)


def _missing(s: dict[str, Any], r: _Resolved) -> list[str]:
    missing: list[str] = []
    if r.provider in ("generic", "azure"):
        if not (s.get("TokenEndpoint") or s.get("Issuer") or (r.provider == "azure" and s.get("TenantId"))):
            missing.append("TokenEndpoint or Issuer" + (" or TenantId" if r.provider == "azure" else ""))
        missing += [k for k in ("ClientId",) if not s.get(k)]
        if not (s.get("ClientSecret") or s.get("ClientSecretFile")):
            missing.append("ClientSecret or ClientSecretFile")
        if r.provider == "azure" and not r.scope:
            missing.append("Scope or Resource")
    elif r.provider == "azure-managed-identity" and not s.get("Resource"):
        scope = s.get("Scope")
        # The older plugin took the managed identity's audience from Scope (".../.default").
        follows = f" (from your Scope: Resource: {scope[:-len('/.default')]})" if isinstance(scope, str) \
            and scope.endswith("/.default") else ""
        missing.append("Resource" + follows)
    elif r.provider == "google" and not (s.get("ServiceAccountKey") or s.get("ServiceAccountKeyFile")):
        missing.append("ServiceAccountKeyFile or ServiceAccountKey")
    return missing


# Credentials each provider never reads: set, they are a mistake (a secret kept for nothing).
UNUSED_BY_PROVIDER = {
    "generic": ("ServiceAccountKey", "ServiceAccountKeyFile"),
    "azure": ("ServiceAccountKey", "ServiceAccountKeyFile"),
    "azure-managed-identity": ("ClientSecret", "ClientSecretFile", "ServiceAccountKey", "ServiceAccountKeyFile",
                               "Scope"),
    "google": ("ClientId", "ClientSecret", "ClientSecretFile"),
    "google-metadata": ("ClientId", "ClientSecret", "ClientSecretFile", "ServiceAccountKey", "ServiceAccountKeyFile"),
}


def _provider_of(server: dict[str, Any]) -> Optional[str]:
    """The provider a server definition as written resolves to (None: the schema refuses it)."""
    provider = server.get("ProviderType", "auto")
    if not isinstance(provider, str):
        return None
    if provider == "auto":
        endpoint = server.get("TokenEndpoint") or server.get("Issuer")
        return detect_provider(endpoint if isinstance(endpoint, str) else None)
    return loaded_provider_type(provider)


def unused_keys(server: Any) -> list[str]:
    """The keys of a server definition its provider does not read (the collection's compiler leaves
    such secrets out of what it writes)."""
    provider = _provider_of(server) if isinstance(server, dict) else None
    return [k for k in UNUSED_BY_PROVIDER.get(provider or "", ()) if server.get(k) is not None]


def unused_notes(name: str, server: Any) -> list[str]:
    """One warning per key ``unused_keys`` finds, the same words wherever it is said."""
    return [f"server '{name}': {key} is set but provider {_provider_of(server)} does not use it; remove it"
            for key in unused_keys(server)]


def _jwt_enabled(s: dict[str, Any]) -> bool:
    return bool(s["ValidateJWT"] or s.get("JWTAudience") or s.get("JWTIssuer") or s.get("JWTPublicKey"))


def _server_errors(name: str, s: dict[str, Any], allowed: set[str], host_files: bool) -> list[OAuthPluginError]:
    path = f"{SECTION}.Servers.{name}"
    errors: list[OAuthPluginError] = []
    if not s["VerifySSL"] and not s["AllowInsecureSSL"]:
        errors.append(OAuthPluginError("SEC-001", "VerifySSL is false but AllowInsecureSSL is not true",
                                       server=name, key=f"{path}.VerifySSL"))
    errors += check_headers(s.get("HttpHeaders", {}), name)
    if isinstance(s.get("Proxy"), dict):
        errors += proxy_errors(s["Proxy"], f"{path}.Proxy", name)
    if legacy_proxy_server(s["Url"]):
        errors.append(OAuthPluginError("CFG-005", f"Url {safe_url(s['Url'])} is the older plugin's proxy path; "
                                       "set the real remote DICOMweb URL", server=name, key=f"{path}.Url"))
    for key in URL_KEYS:
        if s.get(key):
            errors += check_url(s[key], key, name, allowed)
    for key in ("CaBundle", "ServiceAccountKeyFile"):
        if host_files and s.get(key) and not os.access(s[key], os.R_OK):
            errors.append(OAuthPluginError("CFG-009", f"{key} {s[key]} is not a readable file",
                                           server=name, key=f"{path}.{key}"))
    if s.get("ClientSecret") and s.get("ClientSecretFile"):
        errors.append(OAuthPluginError("CFG-002", "set ClientSecret or ClientSecretFile, not both",
                                       server=name, key=f"{path}.ClientSecretFile"))
    elif host_files and s.get("ClientSecretFile"):
        errors += file_errors(s["ClientSecretFile"], f"{path}.ClientSecretFile", name)
    resolved = _resolve(s)
    missing = _missing(s, resolved)
    if missing:
        errors.append(OAuthPluginError("CFG-007", f"provider {resolved.provider} needs {', '.join(missing)}",
                                       server=name, key=path))
    if _jwt_enabled(s) and not (s.get("JWTPublicKey") or s.get("JwksUri") or s.get("Issuer")):
        errors.append(OAuthPluginError("CFG-007", "JWT validation needs JWTPublicKey, JwksUri or Issuer (for "
                                       "discovery)", server=name, key=f"{path}.ValidateJWT"))
    return errors


def _read_key_file(s: dict[str, Any], host_files: bool) -> Optional[str]:
    if not (host_files and s.get("ServiceAccountKeyFile")):
        return s.get("ServiceAccountKey")
    with open(s["ServiceAccountKeyFile"], encoding="utf-8") as f:
        return f.read()


def _build_server(name: str, s: dict[str, Any], schema: dict[str, Any], host_files: bool,
                  global_proxy: Any = None) -> ServerConfig:
    r = _resolve(s)
    proxy = s.get("Proxy", global_proxy)
    res = {**_defaults(schema, "resilience"), **s.get("Resilience", {})}
    return ServerConfig(
        name=name, url=s["Url"], provider_type=r.provider,
        token_endpoint=s.get("TokenEndpoint"), issuer=s.get("Issuer"), tenant_id=s.get("TenantId"),
        client_id=s.get("ClientId"), client_secret=_client_secret(name, s, host_files),
        client_auth_method=r.auth_method, scope=r.scope, audience=s.get("Audience"), resource=s.get("Resource"),
        service_account_key=_opt_secret(_read_key_file(s, host_files)), metadata_url=s.get("MetadataUrl"),
        verify_ssl=s["VerifySSL"], ca_bundle=s.get("CaBundle"),
        refresh_buffer=float(s["TokenRefreshBufferSeconds"]), token_timeout=float(s["TokenTimeoutSeconds"]),
        jwt=JwtConfig(enabled=_jwt_enabled(s), audience=s.get("JWTAudience"), issuer=s.get("JWTIssuer"),
                      algorithms=tuple(s["JWTAlgorithms"]), public_key=s.get("JWTPublicKey"),
                      jwks_uri=s.get("JwksUri"), poll_seconds=float(s["JwksPollSeconds"])),
        resilience=ResilienceConfig(
            max_retries=res["MaxRetries"], strategy=res["RetryStrategy"],
            initial_delay=float(res["RetryInitialDelaySeconds"]), multiplier=float(res["RetryMultiplier"]),
            max_delay=float(res["RetryMaxDelaySeconds"]), max_retry_after=float(res["MaxRetryAfterSeconds"]),
            breaker_enabled=res["CircuitBreakerEnabled"], breaker_threshold=res["CircuitBreakerThreshold"],
            breaker_timeout=float(res["CircuitBreakerTimeoutSeconds"]),
            probe_max_delay=float(res["ProbeMaxDelaySeconds"])),
        dicomweb={k: s[k] for k in ("HasDelete", "Timeout", "ChunkedTransfers", "HttpHeaders") if k in s},
        proxy=build_proxy(proxy), proxy_explicit=proxy is not None,
    )


def _client_secret(name: str, s: dict[str, Any], host_files: bool) -> Optional[Secret]:
    if s.get("ClientSecretFile"):
        return SecretFile(s["ClientSecretFile"], name) if host_files else None
    return _opt_secret(s.get("ClientSecret"))


def _opt_secret(v: Optional[str]) -> Optional[Secret]:
    return Secret(v) if v else None


# ---------------------------------------------------------------------------------------------
# The cache


def _cache_errors(c: dict[str, Any], defer: bool) -> list[OAuthPluginError]:
    key = f"{SECTION}.Cache"
    errors = check_redis_url(c["RedisUrl"]) if c.get("RedisUrl") else []
    if c["Backend"] != "redis":
        return errors
    if not c.get("RedisUrl"):
        errors.append(OAuthPluginError("CFG-008", "Backend redis needs RedisUrl", key=f"{key}.RedisUrl"))
    enc = c.get("EncryptionKey")
    if not enc:
        errors.append(OAuthPluginError("CFG-008", "Backend redis needs EncryptionKey", key=f"{key}.EncryptionKey"))
    elif not _is_deferred(enc, defer):
        try:
            decode_encryption_key(Secret(enc), f"{key}.EncryptionKey")
        except OAuthPluginError as e:
            errors.append(e)
    return errors


def _cache(c: dict[str, Any]) -> CacheConfig:
    return CacheConfig(
        backend=c["Backend"], redis_url=c.get("RedisUrl"), redis_password=_opt_secret(c.get("RedisPassword")),
        redis_ca_bundle=c.get("RedisCaBundle"), key_prefix=c["KeyPrefix"],
        encryption_key=_opt_secret(c.get("EncryptionKey")), lock_timeout=float(c["LockTimeoutSeconds"]))


# ---------------------------------------------------------------------------------------------
# The section


def _prepare(section: dict[str, Any], environ: Mapping[str, str], defer: bool
             ) -> tuple[dict[str, Any], list[str], list[OAuthPluginError]]:
    """Substitution, migration and schema: the section, the migration notes, every error."""
    errors: list[OAuthPluginError] = []
    section = substitute_env(section, environ, errors, defer=defer)
    section, notes, refusals = migrate_legacy(section)
    return section, notes, errors + refusals + schema_errors(section)


def _policy_errors(section: dict[str, Any], schema: dict[str, Any], invalid: list[OAuthPluginError],
                   defer: bool, host_files: bool) -> list[OAuthPluginError]:
    """The policy on every part the schema found well-formed, so that one run reports as much
    as it can."""
    bad_keys = [e.key for e in invalid if e.key and e.key != SECTION]  # a stray top-level key spoils nothing

    def well_formed(prefix: str) -> bool:
        return not any(_within(k, prefix) or _within(prefix, k) for k in bad_keys)

    errors: list[OAuthPluginError] = []
    listed = section.get("AllowPrivateHosts", []) if well_formed(f"{SECTION}.AllowPrivateHosts") else []
    errors += allowed_host_errors(listed, f"{SECTION}.AllowPrivateHosts")
    allowed = allowed_hosts(listed)
    if isinstance(section.get("Proxy"), dict) and well_formed(f"{SECTION}.Proxy"):
        errors += proxy_errors(section["Proxy"], f"{SECTION}.Proxy")
    if well_formed(f"{SECTION}.Cache"):
        errors += _cache_errors({**_defaults(schema, "cache"), **section.get("Cache", {})}, defer)
    for name, raw in section["Servers"].items():
        if well_formed(f"{SECTION}.Servers.{name}"):
            errors += _server_errors(name, {**_defaults(schema, "server"), **raw}, allowed, host_files)
    return errors


def check_config(section: Any, environ: Optional[Mapping[str, str]] = None, *, defer: bool = False,
                 host_files: bool = True) -> tuple[Optional[PluginConfig], list[OAuthPluginError]]:
    """The checked configuration and no errors, or None and every error found.

    The config compiler calls this with ``defer`` (a ``${VAR}`` the compiler cannot know is left
    for the service's environment) and without ``host_files`` (files named in the section live on
    the Orthanc host, not on the controller)."""
    if not isinstance(section, dict):
        return None, [OAuthPluginError("CFG-001", "DicomWebOAuth must be an object with a Servers map", key=SECTION)]
    section, notes, errors = _prepare(section, os.environ if environ is None else environ, defer)
    renames = getattr(notes, "renames", {})
    if not isinstance(section.get("Servers"), dict):
        return None, [_as_written(e, renames) for e in errors]
    schema = load_schema()
    errors += _policy_errors(section, schema, list(errors), defer, host_files)
    if defer:
        errors, deferred_notes = _left_to_the_host(errors, section)
        notes = [*notes, *deferred_notes]
    if errors:
        return None, [_as_written(e, renames) for e in errors]
    servers = {name: {**_defaults(schema, "server"), **raw} for name, raw in section["Servers"].items()}
    cache = {**_defaults(schema, "cache"), **section.get("Cache", {})}
    rl = {**_defaults(schema, "")["RateLimit"], **section.get("RateLimit", {})}
    built = {name: _build_server(name, s, schema, host_files, section.get("Proxy"))
             for name, s in servers.items()}
    insecure = [f"SEC-004 (server '{n}'): TLS verification of the identity provider is DISABLED"
                for n, srv in built.items() if not srv.verify_ssl]
    unused = [note for name, s in servers.items() for note in unused_notes(name, s)]
    return PluginConfig(
        servers=built, cache=_cache(cache),
        rate_limit_requests=int(rl.get("Requests", RATE_LIMIT_REQUESTS)),
        rate_limit_window=int(rl.get("WindowSeconds", RATE_LIMIT_WINDOW)),
        log_level=section.get("LogLevel", "info"), warnings=tuple(notes + unused + insecure)), []


def load_config(section: Any, environ: Optional[Mapping[str, str]] = None) -> PluginConfig:
    """Turn the raw DicomWebOAuth value from orthanc.json into a checked ``PluginConfig``;
    a refused section raises ``ConfigRefused`` carrying every error."""
    cfg, errors = check_config(section, environ)
    if cfg is None:
        raise ConfigRefused(errors)
    log_warnings(cfg)
    return cfg


def log_warnings(cfg: PluginConfig) -> None:
    """What loads but deserves a look (older-plugin keys, disabled TLS checks), once at start."""
    for w in cfg.warnings:
        _log.warning(kv("config.warning", note=w))
