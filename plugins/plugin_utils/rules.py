# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hardening rules of the orthanc.json compiler: a registry of named rules, each with an id,
a rationale, a severity, the HIPAA 164.312 technical safeguard it supports, a check and the fix.

A check receives the compiled configuration and the compile context and yields findings as
(key path, message). ``docs/hardening.md`` is generated from this registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

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
    # Whether a host may waive it. Not: what would break the deployment or the host anyway.
    waivable: bool = True


DEFAULT_PASSWORDS = frozenset({
    "", "orthanc", "password", "admin", "alicepassword", "changeme", "secret", "123456",
    "12345678", "pacs", "root", "test",
})
MIN_PASSWORD_LENGTH = 12


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


def _http_on_loopback(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    # Orthanc's own HTTPS crashes on Debian 12 and 13 (measured), so its HTTP port never serves
    # off-host, with or without SslEnabled: the tls_front role does, with TLS. Authentication is
    # ORT-001's, on every listener: waiving this rule never lets an open Orthanc through.
    if cfg.get("RemoteAccessAllowed"):
        yield "RemoteAccessAllowed", "Orthanc's HTTP port would serve off-host in clear (Orthanc's own HTTPS crashes)"


def _dicom_tls(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    # Orthanc's DICOM listener binds every address; DICOM TLS works on both releases (measured).
    if cfg.get("DicomServerEnabled") and not cfg.get("DicomTlsEnabled"):
        yield "DicomServerEnabled", ("the DICOM port is reachable off-host (Orthanc listens on every address) "
                                     "without DICOM TLS")


# Orthanc's own HTTPS, measured in fresh containers of each supported release (civetweb inside
# Orthanc): the server role refuses it through this rule too (filter orthanc_rule_findings).
BUILTIN_HTTPS_CRASH = (
    "on Debian 12 (orthanc 1.10.1, civetweb 1.15) Orthanc exits at start unless libssl-dev is installed, "
    "and with it dies on the first HTTPS request; on Debian 13 (orthanc 1.12.7, civetweb 1.16) Orthanc "
    "segfaults (exit 139) on the first HTTPS request")


def _no_builtin_https(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if cfg.get("SslEnabled"):
        yield "SslEnabled", f"Orthanc's built-in HTTPS crashes: {BUILTIN_HTTPS_CRASH}"


def _no_inline_secret(cfg: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, str]]:
    rendered = ctx.get("rendered") or ""
    for where, value in sorted(ctx.get("secret_values", {}).items()):
        if value and len(value) >= 8 and value in rendered:  # shorter ones: ORT-002 covers them
            yield where, "a secret value appears in the rendered orthanc.json"


RULES: tuple[Rule, ...] = (
    Rule("ORT-001", "Authentication is on", "Without it anyone who reaches the HTTP port reads and "
         "changes every study.", "high", "164.312(d) person or entity authentication",
         "Set orthanc_authentication_enabled: true and register users.", _auth_on),
    Rule("ORT-002", "No default, empty or short passwords", "Default and short passwords are the "
         "first thing tried against an exposed PACS.", "high", "164.312(d) person or entity authentication",
         f"Give every user in orthanc_users a unique password of at least {MIN_PASSWORD_LENGTH} "
         "characters, from Vault.", _passwords),
    Rule("ORT-003", "Orthanc's HTTP port stays on loopback", "Orthanc's HTTP port has no working TLS "
         "(its own HTTPS crashes on Debian 12 and 13), so off-host its credentials and images cross the "
         "network in clear.", "high", "164.312(e)(1) transmission security",
         "Keep orthanc_remote_access_allowed: false and put the role dicomweb_oauth.orthanc.tls_front in "
         "front of Orthanc (docs/tls.md).", _http_on_loopback),
    Rule("ORT-004", "DICOM only with DICOM TLS", "Orthanc's DICOM listener binds every address; without "
         "TLS, images and patient data cross the network in clear.", "high",
         "164.312(e)(1) transmission security",
         "Set orthanc_dicom_tls (DICOM TLS works on both releases, docs/tls.md) or orthanc_dicom_enabled: "
         "false.", _dicom_tls),
    Rule("ORT-008", "No secret inline in orthanc.json", "orthanc.json is read by many tools and people; "
         "secrets belong in a root-owned environment file readable only by the Orthanc group.",
         "high", "164.312(a)(2)(iv) encryption and decryption",
         "Let the compiler move secrets to the environment file; never put them in orthanc_extra_config.",
         _no_inline_secret, waivable=False),
    Rule("ORT-010", "Orthanc's built-in HTTPS is off", "Orthanc's own HTTPS listener crashes on every "
         "supported release (measured), so a deployment with it never serves.", "high",
         "164.312(e)(1) transmission security",
         "Set orthanc_ssl_enabled: false (and no SslEnabled in orthanc_extra_config) and use the role "
         "dicomweb_oauth.orthanc.tls_front: nginx terminating TLS on the host's addresses, Orthanc on "
         "loopback with orthanc_remote_access_allowed: false (docs/tls.md).", _no_builtin_https, waivable=False),
)

RULES_BY_ID = {r.id: r for r in RULES}

# Rules that were the compiler's own and are now judged by the plugin's loader, which the compiler
# calls (one judge): a waiver naming one gets this answer.
RETIRED_RULES = {
    "ORT-005": "the plugin refuses ServersInDatabase with OAuth servers itself (SEC-002); it cannot be waived",
    "ORT-006": "the plugin's own rule SEC-001 replaces it: set AllowInsecureSSL: true next to VerifySSL: false",
    "ORT-007": "the plugin's own rules SEC-003 and SEC-009 replace it: list deliberate internal hosts in "
               "orthanc_oauth_allow_private_hosts",
    "ORT-009": "the compiler now writes the plugin's rate limit into orthanc.json explicitly",
}


def markdown() -> str:
    """The text of docs/hardening.md."""
    out = [
        "# Hardening rules",
        "",
        "Generated from `plugins/plugin_utils/rules.py` by `scripts/docs.py` (also printed by",
        "`bin/orthanc-config-lint.py --rules-markdown`); `make docs-check` keeps them equal.",
        "The compiler refuses an `orthanc.json` that breaks any rule, unless",
        "the host waives that rule with a written reason (`orthanc_hardening_waivers`); waivers are",
        "reported in every run.",
        "",
        "The `DicomWebOAuth` section is judged by the plugin's own loader, which the compiler calls:",
        "its findings carry the plugin's error codes (CFG-, SEC-, see [errors.md](errors.md)) with",
        "the same messages the plugin would log in Orthanc, and they cannot be waived (the plugin",
        "would refuse the configuration anyway). Private, loopback and metadata hosts are allowed",
        "per host by `orthanc_oauth_allow_private_hosts`. Compiler input errors are reported as",
        "`INPUT`.",
        "",
        "| id | rule | severity | HIPAA 164.312 |",
        "|---|---|---|---|",
    ]
    out += [f"| [{r.id}](#{r.id.lower()}) | {r.title} | {r.severity} | {r.hipaa} |" for r in RULES]
    for r in RULES:
        out += ["", f"## {r.id}", "", f"**{r.title}** ({r.severity}; {r.hipaa})", "",
                f"Why: {r.rationale}", "", f"Fix: {r.fix}"]
        if not r.waivable:
            out += ["", "It cannot be waived."]
    out += ["", "## Waivers", "", "```yaml",
            "orthanc_hardening_waivers:",
            "  - id: ORT-003",
            "    reason: \"lab instance on an isolated test network, no patient data\"",
            "```", "",
            "This lets that host's Orthanc answer on its HTTP port off-host, in clear; every other rule",
            "still holds (authentication, ORT-001, above all). Rules never overlap: each one decides",
            "something no other rule decides, so each waiver lets exactly that through (a test checks it,",
            "and this example).", "",
            "A waiver without an id of a known rule, without a reason, or of a rule that cannot be",
            "waived, is itself a finding.", "",
            "## Retired rules", "",
            "These ids were the compiler's own; the plugin's loader judges them now. A waiver that",
            "names one is a finding that says what replaces it.", ""]
    out += [f"- {rid}: {why}" for rid, why in sorted(RETIRED_RULES.items())]
    return "\n".join(out) + "\n"
