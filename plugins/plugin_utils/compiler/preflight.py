# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the config role's preflight probes from the host before it changes anything."""

from __future__ import annotations

import re
from typing import Any

from .outbound_proxy import probe_route


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
                       "ca": srv.get("CaBundle") or "", **probe_route(url, route, env)})
    return checks
