"""Configurations written for the older ``orthanc-dicomweb-oauth`` plugin (same section name).

Every key and value its README, examples and templates use is either loaded (turned into ours,
with a note that says what to write instead) or refused with CFG-004 and the exact replacement.
Runs before the schema, on any JSON value: what it does not recognise it leaves for the schema
to report. No message repeats a value that could be a secret."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from .errors import OAuthPluginError

SECTION = "DicomWebOAuth"

RESILIENCE_KEYS = {
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
PROVIDER_TYPES = {
    "azuremanagedidentity": "azure-managed-identity",
    "keycloak": "generic",
    "okta": "generic",
    "auth0": "generic",
}
LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning",
              "error": "error", "critical": "error"}
AWS_REFUSAL = ("ProviderType aws is not supported: AWS HealthImaging authenticates requests with "
               "SigV4 signatures, which a bearer token cannot replace. For a HealthImaging datastore "
               "with an OIDC identity provider use ProviderType generic (docs/providers.md)")
_LEGACY_PROXY_RE = re.compile(r"/oauth-dicom-web/servers/([^/]+)/?$")

Errors = list[OAuthPluginError]


class Notes(list[str]):
    """The migration notes, and ``renames``: each key path as loaded -> the path the user wrote, so
    that a later error names the key the user wrote."""

    def __init__(self) -> None:
        super().__init__()
        self.renames: dict[str, str] = {}


def legacy_proxy_server(url: Any) -> Optional[str]:
    """The server name if ``url`` is the older plugin's local proxy path, else None."""
    if not isinstance(url, str) or not url:
        return None
    try:
        m = _LEGACY_PROXY_RE.search(urlsplit(url).path)
    except ValueError:
        return None
    return m.group(1) if m else None


def _move(src: dict[str, Any], dst: dict[str, Any], old: str, new: str, path: str, notes: Notes, errors: Errors,
          label: Optional[str] = None, server: Optional[str] = None) -> None:
    """``src[old]`` (the older plugin's key) to ``dst[new]``; ``label`` is how messages name the
    new key (default ``new``). Both set is a refusal."""
    if old not in src:
        return
    label = label or new
    if new in dst:
        errors.append(OAuthPluginError("CFG-004", f"both {old} (older plugin) and {label} are set; remove {old}",
                                       server=server, key=f"{path}.{old}"))
        return
    dst[new] = src.pop(old)
    notes.append(f"{path}.{old} is the older plugin's name: write {label} instead")
    notes.renames[f"{path}.{label}"] = f"{path}.{old}"


def _top_level(out: dict[str, Any], notes: Notes, errors: Errors) -> None:
    if "RateLimitRequests" in out or "RateLimitWindowSeconds" in out:
        rl = out.setdefault("RateLimit", {})
        if isinstance(rl, dict):
            for old, new in (("RateLimitRequests", "Requests"), ("RateLimitWindowSeconds", "WindowSeconds")):
                _move(out, rl, old, new, SECTION, notes, errors, label=f"RateLimit.{new}")
    level = out.get("LogLevel")
    if isinstance(level, str) and level not in LOG_LEVELS.values() and level.lower() in LOG_LEVELS:
        out["LogLevel"] = LOG_LEVELS[level.lower()]
        notes.append(f"{SECTION}.LogLevel {level!r}: write {out['LogLevel']!r} (lower case) instead")
    for key, why in (("EnableMetrics", "metrics are always served at GET /dicomweb-oauth/metrics"),
                     ("LogFile", "the plugin logs through Orthanc's own log")):
        if key in out:
            out.pop(key)
            notes.append(f"{SECTION}.{key} is ignored ({why}); remove it")
    _cache(out, notes, errors)
    shared = out.pop("ResilienceConfig", None)
    if shared is not None and isinstance(out.get("Servers"), dict):
        for srv in out["Servers"].values():
            if isinstance(srv, dict) and "ResilienceConfig" not in srv and "Resilience" not in srv:
                srv["ResilienceConfig"] = copy.deepcopy(shared)
        notes.append(f"{SECTION}.ResilienceConfig applies to every server: write Resilience in each server")


def _cache(out: dict[str, Any], notes: Notes, errors: Errors) -> None:
    keys = [k for k in ("CacheType", "CacheBackend", "RedisUrl") if k in out]
    if keys:
        cache = out.setdefault("Cache", {})
        if isinstance(cache, dict):
            for k in keys:
                new = "RedisUrl" if k == "RedisUrl" else "Backend"
                _move(out, cache, k, new, SECTION, notes, errors, label=f"Cache.{new}")
    if "Redis" in out:
        block = out.pop("Redis")
        b = block if isinstance(block, dict) else {}
        scheme = "rediss" if b.get("SSL") or b.get("Ssl") else "redis"
        url = f"{scheme}://{_plain(b.get('Host'), 'HOST')}:{_plain(b.get('Port'), 6379)}/{_plain(b.get('DB'), 0)}"
        extra = ", RedisPassword: <the Redis password, through ${VAR}>" if "Password" in b else ""
        prefix = f", KeyPrefix: {json.dumps(b['Prefix'])}" if isinstance(b.get("Prefix"), str) else ""
        errors.append(OAuthPluginError(
            "CFG-004", f"Redis is the older plugin's block; write Cache: {{Backend: redis, RedisUrl: "
            f"{json.dumps(url)}{extra}{prefix}, EncryptionKey: <base64 of 32 random bytes>}} instead",
            key=f"{SECTION}.Redis"))


def _plain(value: Any, default: Any) -> Any:
    """A host, port or database number for a message (never a secret), or the placeholder."""
    if isinstance(value, (int, str)) and not isinstance(value, bool) and re.match(r"^[\w.-]{1,253}$", str(value)):
        return value
    return default


def _resilience(name: str, srv: dict[str, Any], notes: Notes, errors: Errors) -> None:
    legacy = srv.get("ResilienceConfig")
    if legacy is None:
        return
    path = f"{SECTION}.Servers.{name}.ResilienceConfig"
    if "Resilience" in srv:
        errors.append(OAuthPluginError("CFG-004", "both ResilienceConfig and Resilience are set; keep only "
                                       "Resilience", server=name, key=path))
        return
    if not isinstance(legacy, dict):
        errors.append(OAuthPluginError("CFG-004", "ResilienceConfig must be an object", server=name, key=path))
        return
    unknown = sorted(str(k) for k in legacy if k not in RESILIENCE_KEYS)
    if unknown:
        errors.append(OAuthPluginError(
            "CFG-004", f"ResilienceConfig.{unknown[0]} has no equivalent; remove it (the Resilience keys are "
            f"{', '.join(sorted(set(RESILIENCE_KEYS.values())))})", server=name, key=f"{path}.{unknown[0]}"))
        return
    linear = legacy.get("RetryStrategy") == "linear"
    block = {RESILIENCE_KEYS[k]: v for k, v in legacy.items() if k != "RetryIncrement" or linear}
    if linear and "RetryIncrement" in legacy:
        block["RetryMultiplier"] = legacy["RetryIncrement"]
    srv.pop("ResilienceConfig")
    srv["Resilience"] = block
    new = f"{SECTION}.Servers.{name}.Resilience"
    notes.renames[new] = path
    notes.renames.update({f"{new}.{RESILIENCE_KEYS[k]}": f"{path}.{k}" for k in legacy
                          if RESILIENCE_KEYS[k] in block})
    moved = ", ".join(f"{k} -> Resilience.{RESILIENCE_KEYS[k]}" for k in legacy)
    notes.append(f"{path} is the older plugin's block: {moved}")


def loaded_provider_type(value: str) -> str:
    """A ProviderType as the plugin reads it: the older plugin's names mapped to ours, ours in any
    case lower-cased; anything else as it is (for the schema to judge)."""
    low = value.lower()
    if low in PROVIDER_TYPES:
        return PROVIDER_TYPES[low]
    return low if low in ("auto", "generic", "azure", "google") else value


def _provider_type(name: str, srv: dict[str, Any], notes: Notes, errors: Errors) -> None:
    value = srv.get("ProviderType")
    if not isinstance(value, str):
        return
    path = f"{SECTION}.Servers.{name}.ProviderType"
    loaded = loaded_provider_type(value)
    if value.lower() == "aws":
        errors.append(OAuthPluginError("CFG-004", AWS_REFUSAL, server=name, key=path))
    elif loaded != value:
        srv["ProviderType"] = loaded
        how = "" if value.lower() in PROVIDER_TYPES else " (lower case)"
        notes.append(f"{path} {value!r}: write {loaded!r}{how} instead")


def _server_values(name: str, srv: dict[str, Any], notes: Notes, errors: Errors) -> None:
    path = f"{SECTION}.Servers.{name}"
    _move(srv, srv, "DicomWebRoot", "Url", path, notes, errors, server=name)
    _move(srv, srv, "RefreshBufferSeconds", "TokenRefreshBufferSeconds", path, notes, errors, server=name)
    algs = srv.get("JWTAlgorithms")
    if isinstance(algs, str):
        srv["JWTAlgorithms"] = [a for a in re.split(r"[\s,]+", algs) if a]
        notes.append(f"{path}.JWTAlgorithms as a string: write a list, {json.dumps(srv['JWTAlgorithms'])}")
    verify = srv.get("VerifySSL")
    if isinstance(verify, str) and verify.startswith("/"):
        if "CaBundle" in srv:
            errors.append(OAuthPluginError("CFG-004", "VerifySSL is a path and CaBundle is set; write "
                                           "VerifySSL: true and keep CaBundle", server=name, key=f"{path}.VerifySSL"))
        else:
            srv["VerifySSL"], srv["CaBundle"] = True, verify
            notes.append(f"{path}.VerifySSL as a CA path: write CaBundle: {json.dumps(verify)} instead")
    for key in ("Region", "UseInstanceProfile"):
        if key in srv:
            errors.append(OAuthPluginError("CFG-004", f"{key} belongs to the older plugin's aws provider, which is "
                                           "not supported (see ProviderType); remove it", server=name,
                                           key=f"{path}.{key}"))


SERVER_STEPS: tuple[Callable[[str, dict[str, Any], Notes, Errors], None], ...] = (
    _provider_type, _server_values, _resilience)


def migrate_legacy(section: dict[str, Any]) -> tuple[dict[str, Any], Notes, Errors]:
    """The section with the older plugin's keys turned into ours, one note per change, and the
    refusals (CFG-004, each with its exact replacement)."""
    notes = Notes()
    errors: Errors = []
    out = copy.deepcopy(section)
    _top_level(out, notes, errors)
    servers = out.get("Servers")
    if isinstance(servers, dict):
        for name, srv in servers.items():
            if isinstance(srv, dict):
                for step in SERVER_STEPS:
                    step(str(name), srv, notes, errors)
    return out, notes, errors
