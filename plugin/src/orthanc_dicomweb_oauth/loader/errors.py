"""Stable error codes of the plugin.

Each code has a one-line message template and troubleshooting steps. ``docs/errors.md`` is
generated from this table (``python -m orthanc_dicomweb_oauth.loader.errors``) and a test keeps the two
identical, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    title: str
    http_status: int
    troubleshooting: tuple[str, ...]


def _spec(code: str, title: str, http_status: int, *steps: str) -> ErrorSpec:
    return ErrorSpec(code, title, http_status, tuple(steps))


_SPECS = [
    # Configuration
    _spec("CFG-001", "DicomWebOAuth section missing or not an object", 500,
          "Add a DicomWebOAuth object with a Servers map to orthanc.json.",
          "Check that the file is valid JSON (Orthanc also accepts comments)."),
    _spec("CFG-002", "Configuration value does not match the schema", 500,
          "The message names the key path and what the schema expects.",
          "See docs/configuration.md for every key, its type and default."),
    _spec("CFG-003", "Environment variable referenced by ${VAR} is not set", 500,
          "Set the variable in the Orthanc service environment (systemd Environment= or EnvironmentFile=).",
          "Write $${ for a literal ${ in a value."),
    _spec("CFG-004", "Key of the older orthanc-dicomweb-oauth plugin that cannot be loaded", 500,
          "The message says the exact replacement; docs/configuration.md has the migration table."),
    _spec("CFG-005", "DicomWeb server points at the older plugin's local proxy path", 500,
          "Set DicomWeb.Servers.<name>.Url back to the real remote DICOMweb URL, or remove that "
          "entry and keep only DicomWebOAuth.Servers.<name>: this plugin defines the server itself "
          "and adds the bearer token to Orthanc's own requests."),
    _spec("CFG-006", "Server defined both in DicomWeb.Servers and DicomWebOAuth.Servers", 500,
          "Remove the entry from DicomWeb.Servers; the plugin defines it at run time with the token."),
    _spec("CFG-007", "Provider settings incomplete", 500,
          "generic: TokenEndpoint or Issuer, ClientId and ClientSecret.",
          "azure: TokenEndpoint or TenantId or Issuer, ClientId, ClientSecret, Scope or Resource.",
          "azure-managed-identity: Resource. google: ServiceAccountKeyFile or ServiceAccountKey."),
    _spec("CFG-008", "Shared cache settings invalid", 500,
          "Backend redis needs RedisUrl and EncryptionKey (base64 of exactly 32 random bytes: "
          "`head -c32 /dev/urandom | base64`)."),
    _spec("CFG-009", "File named in the configuration cannot be read", 500,
          "Check the path and that the Orthanc service user can read it (and nobody else, for keys)."),
    _spec("CFG-010", "Token requests and DICOMweb traffic would leave by different routes", 500,
          "Orthanc's HttpProxy carries the DICOMweb traffic and DicomWebOAuth.Proxy the plugin's "
          "token requests: name the same proxy in both, or in neither.",
          "With the collection, set orthanc_outbound_proxy: it writes both."),
    # Security policy
    _spec("SEC-001", "TLS verification disabled without AllowInsecureSSL", 500,
          "Prefer CaBundle with your internal CA to VerifySSL false.",
          "If you must, set AllowInsecureSSL true as well; the plugin then logs SEC-004 at every start."),
    _spec("SEC-002", "DicomWeb.ServersInDatabase is true while OAuth servers are configured", 500,
          "Set DicomWeb.ServersInDatabase to false: otherwise Orthanc writes the bearer tokens in "
          "plain text to its database."),
    _spec("SEC-003", "Plain http to a non-loopback identity provider or DICOMweb server", 500,
          "Use https. Plain http is accepted only for loopback addresses and cloud metadata endpoints."),
    _spec("SEC-004", "TLS verification is disabled (AllowInsecureSSL)", 200,
          "This is a warning: tokens and secrets can be intercepted. Configure CaBundle instead."),
    _spec("SEC-005", "Token in the shared cache failed authentication", 200,
          "Every node must use the same Cache.EncryptionKey; a mismatch or tampering makes a node "
          "ignore the shared token and request its own. Check the key and who can write to Redis."),
    _spec("SEC-006", "A credential in HttpHeaders", 500,
          "Remove the header: static headers are written in clear into orthanc.json and Orthanc's "
          "server definition. The plugin owns Authorization and sends the bearer token; Cookie, "
          "Proxy-Authorization and headers whose names say key, token, secret, password, auth or "
          "session are refused too."),
    _spec("SEC-008", "Credentials or a secret in a URL", 500,
          "Remove user:password@ and secret query parameters (client_secret, token, key, ...) from "
          "the URL: the message shows the URL without them.",
          "Client credentials go in ClientId and ClientSecret, the Redis password in "
          "Cache.RedisPassword, each through ${VAR} (the collection moves them to the service's "
          "environment file).",
          "A proxy's user and password go in Proxy.Username and Proxy.Password (the collection: "
          "orthanc_outbound_proxy.username and .password)."),
    _spec("SEC-009", "URL host is loopback, private, link-local, unique-local or a metadata endpoint", 500,
          "Every spelling of an address counts (2130706433, 0x7f000001, 127.1 and ::ffff:127.0.0.1 "
          "are all 127.0.0.1).",
          "If the host is deliberate (an identity provider on the imaging network), list it in "
          "DicomWebOAuth.AllowPrivateHosts; with the collection, in orthanc_oauth_allow_private_hosts.",
          "DNS names are not resolved when the configuration is checked; an egress firewall or "
          "proxy guards names that point inwards."),
    # 503 and not 429: Orthanc 1.10 cannot send a 429 from a plugin (the connection is dropped).
    _spec("SEC-010", "A file holding a secret is readable by every user", 500,
          "Make the file readable by Orthanc's group only: chown root:orthanc FILE; chmod 0640 FILE.",
          "The collection's config role writes ClientSecretFile that way."),
    _spec("SEC-007", "Rate limit of the plugin's REST API exceeded", 503,
          "Wait for Retry-After seconds; RateLimit.Requests and RateLimit.WindowSeconds set the "
          "limit of token tests per server.",
          "The answer is 503 with Retry-After: Orthanc 1.10 cannot send 429 from a plugin."),
    # Authorization refused by the identity provider (never retried)
    _spec("AUTH-001", "Identity provider refused the client credentials (invalid_client)", 502,
          "Check ClientId and ClientSecret (expired or rotated secret?).",
          "Check ClientAuthMethod: the client may be registered for client_secret_post or _basic."),
    _spec("AUTH-002", "Identity provider refused the requested scope (invalid_scope)", 502,
          "Check Scope against what the client is allowed; Azure needs <resource>/.default."),
    _spec("AUTH-003", "Identity provider refused the token request", 502,
          "The message carries the OAuth error code; check the client's grant types "
          "(client_credentials must be allowed) and Audience/Resource."),
    # Token
    _spec("TOK-001", "Token response malformed", 502,
          "The endpoint answered 200 without a usable access_token/expires_in; check TokenEndpoint "
          "points at the token endpoint and not at a login page."),
    _spec("TOK-002", "Access token audience does not match JWTAudience", 502,
          "Check JWTAudience and the Audience/Resource/Scope requested."),
    _spec("TOK-003", "Access token signature does not verify", 502,
          "Check JwksUri/Issuer/JWTPublicKey; the provider may have rotated keys."),
    _spec("TOK-004", "Access token is not a valid JWT for the configured checks", 502,
          "Opaque tokens cannot be validated: set ValidateJWT false and remove JWTAudience/JWTIssuer.",
          "Otherwise check JWTIssuer, JWTAlgorithms and the machine clock."),
    _spec("TOK-005", "Signing keys (JWKS) unavailable", 502,
          "Check that JwksUri (or the issuer's jwks_uri) is reachable from the Orthanc host."),
    # Network and HTTP
    _spec("NET-001", "Cannot connect to the identity provider", 502,
          "Check DNS, routes, proxies and firewalls from the Orthanc host to the token endpoint."),
    _spec("NET-002", "Identity provider did not answer in time", 504,
          "Raise TokenTimeoutSeconds or check the provider's health."),
    _spec("NET-003", "TLS handshake or certificate verification failed", 502,
          "Set CaBundle to the CA that signed the provider's certificate; check the clock."),
    _spec("NET-004", "Identity provider answered with a server error", 502,
          "Retried with backoff; check the provider's status page or logs."),
    _spec("NET-005", "Identity provider is rate limiting (429)", 503,
          "Retried after Retry-After; several nodes? use the redis cache backend so they share one token."),
    _spec("NET-006", "Circuit breaker open: recent token requests failed", 503,
          "Requests fail fast until CircuitBreakerTimeoutSeconds passes; fix the cause reported "
          "by the previous errors (see the status endpoint)."),
    _spec("NET-007", "OpenID discovery document unavailable or invalid", 502,
          "Check Issuer: <Issuer>/.well-known/openid-configuration must answer JSON whose issuer "
          "equals Issuer."),
    _spec("NET-008", "Cannot reach the outbound proxy", 502,
          "Check Proxy.Url (host and port) and that the proxy runs and accepts connections from "
          "the Orthanc host; retried with backoff, and the plugin recovers by itself once the proxy "
          "is back.",
          "Hosts that must not go through the proxy belong in Proxy.NoProxy."),
    _spec("NET-009", "The outbound proxy refused the credentials (407)", 502,
          "Check Proxy.Username and Proxy.Password (the collection: orthanc_outbound_proxy); the "
          "proxy asks for Basic authentication. Not retried until the configuration changes."),
    _spec("NET-010", "The outbound proxy refused to carry the request", 502,
          "The proxy's access rules refuse this destination (or its port): ask the proxy's "
          "administrators to allow the identity provider's host on port 443, or list the host in "
          "Proxy.NoProxy if it is reachable directly."),
    # Internal
    _spec("INT-001", "Unexpected internal error", 500,
          "Report it with the log lines around it (they contain no secrets)."),
    _spec("INT-002", "Shared cache (Redis) unavailable; using the local cache", 200,
          "Requests keep working with per-node tokens; check Redis. Sharing resumes by itself."),
    _spec("INT-003", "Unknown server name", 404,
          "Use one of the names under DicomWebOAuth.Servers."),
    _spec("INT-004", "HTTP method not allowed on this endpoint", 405,
          "The Allow header lists the methods the endpoint accepts; see docs/orthanc.md (REST API)."),
    _spec("INT-005", "Orthanc refused the DICOMweb server definition", 500,
          "Check that the DICOMweb plugin is loaded before the Python plugin in Plugins and that "
          "DicomWeb.Enable is true; the log line carries Orthanc's answer."),
    _spec("INT-006", "The plugin's configuration was refused; the plugin is inactive", 503,
          "GET /dicomweb-oauth/status shows the configuration error with its own code; fix it "
          "and restart Orthanc. Orthanc itself keeps serving."),
]

ERRORS: dict[str, ErrorSpec] = {s.code: s for s in _SPECS}


class OAuthPluginError(Exception):
    """An error with a stable code. Its text never contains secrets or tokens.

    ``retryable`` and ``retry_after`` tell the token manager whether and when to try again.
    """

    def __init__(self, code: str, detail: str, *, server: Optional[str] = None,
                 key: Optional[str] = None, retryable: bool = False,
                 retry_after: Optional[float] = None) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code}")
        self.code = code
        self.detail = detail
        self.server = server
        self.key = key
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def spec(self) -> ErrorSpec:
        return ERRORS[self.code]

    @property
    def message(self) -> str:
        where = []
        if self.server:
            where.append(f"server '{self.server}'")
        if self.key:
            where.append(f"key {self.key}")
        loc = f" ({', '.join(where)})" if where else ""
        return f"{self.code}{loc}: {self.detail}"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "title": self.spec.title,
            "message": self.message,
            "server": self.server,
            "troubleshooting": list(self.spec.troubleshooting),
        }
