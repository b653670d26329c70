# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hardening rules of the orthanc.json compiler: a registry of named rules, each with an id,
a rationale, a severity, the HIPAA 164.312 technical safeguard it supports, a check and the fix.

A check receives the compiled configuration and the compile context and yields findings as
(key path, message). ``docs/hardening.md`` is generated from this registry."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

Check = Callable[[dict[str, Any], dict[str, Any]], Iterator[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    rationale: str
    severity: str  # high, medium, low
    hipaa: str
    fix: str
    check: Check


DEFAULT_PASSWORDS = frozenset({
    "", "orthanc", "password", "admin", "alicepassword", "changeme", "secret", "123456",
    "12345678", "pacs", "root", "test",
})
MIN_PASSWORD_LENGTH = 12
METADATA_HOSTS = frozenset({"169.254.169.254", "metadata.google.internal", "fd00:ec2::254", "100.100.100.200"})


def _oauth_servers(cfg: dict[str, Any]) -> dict[str, Any]:
    return ((cfg.get("DicomWebOAuth") or {}).get("Servers")) or {}


def _auth_on(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if cfg.get("AuthenticationEnabled") is not True:
        yield "AuthenticationEnabled", "Orthanc's HTTP authentication is off"


def _passwords(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    users = cfg.get("RegisteredUsers") or {}
    if cfg.get("AuthenticationEnabled") and not users:
        yield "RegisteredUsers", "authentication is on but no user is registered"
    for user, pw in sorted(ctx.get("user_passwords", {}).items()):
        if pw is None:
            continue  # supplied through the environment: checked where it is set
        if str(pw).lower() in DEFAULT_PASSWORDS:
            yield f"RegisteredUsers.{user}", "empty or well-known default password"
        elif len(str(pw)) < MIN_PASSWORD_LENGTH:
            yield f"RegisteredUsers.{user}", f"password shorter than {MIN_PASSWORD_LENGTH} characters"


def _remote_needs_auth(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if cfg.get("RemoteAccessAllowed") and not cfg.get("AuthenticationEnabled"):
        yield "RemoteAccessAllowed", "remote access is allowed without authentication"


def _tls_off_host(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if cfg.get("RemoteAccessAllowed") and not cfg.get("SslEnabled"):
        yield "SslEnabled", "the HTTP listener is reachable off-host without TLS"


def _servers_in_db(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if _oauth_servers(cfg) and (cfg.get("DicomWeb") or {}).get("ServersInDatabase") is True:
        yield "DicomWeb.ServersInDatabase", "Orthanc would store the bearer tokens in plain text in its database"


def _verify_ssl(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name, s in sorted(_oauth_servers(cfg).items()):
        if isinstance(s, dict) and s.get("VerifySSL") is False and s.get("AllowInsecureSSL") is not True:
            yield f"DicomWebOAuth.Servers.{name}.VerifySSL", "TLS verification off without AllowInsecureSSL"


def _private_host(host: str) -> str | None:
    h = host.lower().rstrip(".")
    if h in METADATA_HOSTS:
        return "a cloud metadata endpoint"
    if h == "localhost" or h.endswith(".localhost"):
        return "loopback"
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return None
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private:
        return "a private range"
    return None


def _endpoints(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    allowed = set(ctx.get("allow_private_hosts") or ())
    for name, s in sorted(_oauth_servers(cfg).items()):
        if not isinstance(s, dict):
            continue
        for key in ("Url", "TokenEndpoint", "Issuer", "JwksUri"):
            url = s.get(key)
            if not isinstance(url, str) or not url:
                continue
            path = f"DicomWebOAuth.Servers.{name}.{key}"
            try:
                parts = urlsplit(url)
                host = parts.hostname or ""
            except ValueError:
                yield path, "not a valid URL"
                continue
            if parts.scheme != "https":
                yield path, f"{parts.scheme}:// instead of https://"
            kind = _private_host(host)
            if kind and host not in allowed:
                yield path, f"host {host} is {kind}"


def _no_inline_secret(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    rendered = ctx.get("rendered") or ""
    for where, value in sorted(ctx.get("secret_values", {}).items()):
        if value and len(value) >= 8 and value in rendered:  # shorter ones: ORT-002 covers them
            yield where, "a secret value appears in the rendered orthanc.json"


def _rate_limit(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    section = cfg.get("DicomWebOAuth")
    if (isinstance(section, dict) and _oauth_servers(cfg)
            and "RateLimit" not in section and "RateLimitRequests" not in section):
        yield "DicomWebOAuth.RateLimit", "the plugin's REST API rate limit is not set explicitly"


RULES: tuple[Rule, ...] = (
    Rule("ORT-001", "Authentication is on", "Without it anyone who reaches the HTTP port reads and "
         "changes every study.", "high", "164.312(d) person or entity authentication",
         "Set orthanc_authentication_enabled: true and register users.", _auth_on),
    Rule("ORT-002", "No default, empty or short passwords", "Default and short passwords are the "
         "first thing tried against an exposed PACS.", "high", "164.312(d) person or entity authentication",
         f"Give every user in orthanc_users a unique password of at least {MIN_PASSWORD_LENGTH} "
         "characters, from Vault.", _passwords),
    Rule("ORT-003", "Remote access only with authentication", "RemoteAccessAllowed opens the REST API "
         "to the network.", "high", "164.312(a)(1) access control",
         "Keep orthanc_remote_access_allowed: false, or enable authentication.", _remote_needs_auth),
    Rule("ORT-004", "TLS on any listener reachable off-host", "Without TLS, credentials and images "
         "cross the network in clear.", "high", "164.312(e)(1) transmission security",
         "Keep orthanc_remote_access_allowed: false and terminate TLS in a reverse proxy on the same "
         "host (Orthanc's own HTTPS crashes on Debian 12, see roles/server/README.md).", _tls_off_host),
    Rule("ORT-005", "DICOMweb servers are not stored in the database when OAuth servers exist",
         "With ServersInDatabase the bearer tokens are written in plain text to Orthanc's index.",
         "high", "164.312(a)(2)(iv) encryption and decryption",
         "Set orthanc_dicomweb_servers_in_database: false.", _servers_in_db),
    Rule("ORT-006", "TLS verification of identity providers stays on", "VerifySSL false lets anyone "
         "on the path read the client secret and the tokens.", "high", "164.312(e)(1) transmission security",
         "Remove VerifySSL: false and set CaBundle to your CA; AllowInsecureSSL: true is the explicit, "
         "logged exception.", _verify_ssl),
    Rule("ORT-007", "Identity provider and DICOMweb URLs are https and public",
         "Plain http leaks tokens; private, loopback, link-local and cloud metadata addresses are the "
         "classic server-side request forgery targets.", "medium", "164.312(e)(1) transmission security",
         "Use https:// URLs; list a deliberate internal host in orthanc_oauth_allow_private_hosts.",
         _endpoints),
    Rule("ORT-008", "No secret inline in orthanc.json", "orthanc.json is read by many tools and people; "
         "secrets belong in a root-owned environment file readable only by the Orthanc group.",
         "high", "164.312(a)(2)(iv) encryption and decryption",
         "Let the compiler move secrets to the environment file; never put them in orthanc_extra_config.",
         _no_inline_secret),
    Rule("ORT-009", "The plugin's REST API rate limit is set", "The token test endpoint calls the "
         "identity provider; an explicit limit keeps a script from hammering it.", "low",
         "164.312(a)(1) access control",
         "Set RateLimit: {Requests: N, WindowSeconds: S} in orthanc_dicomweb_oauth.", _rate_limit),
)

RULES_BY_ID = {r.id: r for r in RULES}


def markdown() -> str:
    """The text of docs/hardening.md."""
    out = [
        "# Hardening rules",
        "",
        "Generated from `plugins/plugin_utils/rules.py` by `bin/orthanc-config-lint.py --rules-markdown`;",
        "a test keeps them equal. The compiler refuses an `orthanc.json` that breaks any rule, unless",
        "the host waives that rule with a written reason (`orthanc_hardening_waivers`); waivers are",
        "reported in every run. Besides these rules, the `DicomWebOAuth` section must match the",
        "plugin's JSON Schema (finding id `SCHEMA`) and compiler input errors are reported as `INPUT`.",
        "",
        "| id | rule | severity | HIPAA 164.312 |",
        "|---|---|---|---|",
    ]
    out += [f"| [{r.id}](#{r.id.lower()}) | {r.title} | {r.severity} | {r.hipaa} |" for r in RULES]
    for r in RULES:
        out += ["", f"## {r.id}", "", f"**{r.title}** ({r.severity}; {r.hipaa})", "",
                f"Why: {r.rationale}", "", f"Fix: {r.fix}"]
    out += ["", "## Waivers", "", "```yaml",
            "orthanc_hardening_waivers:",
            "  - id: ORT-007",
            "    reason: \"Keycloak on the imaging VLAN, reached over the site's IPsec tunnel\"",
            "```", "",
            "A waiver without an id of a known rule, or without a reason, is itself a finding."]
    return "\n".join(out) + "\n"
