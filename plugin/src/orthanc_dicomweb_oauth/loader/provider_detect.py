"""Provider auto-detection from the token endpoint's host, by exact host names only.

A substring or suffix test would let ``login.microsoftonline.com.attacker.example`` or
``notgoogleapis.com`` pick a provider (and its defaults); an exact, lower-cased comparison of
the parsed host cannot be fooled that way."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

AZURE_HOSTS = frozenset({
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
})
GOOGLE_HOSTS = frozenset({
    "oauth2.googleapis.com",
    "accounts.google.com",
    "www.googleapis.com",
})


def detect_provider(url: Optional[str]) -> str:
    """``azure``, ``google`` or ``generic`` for a token endpoint or issuer URL."""
    if not url:
        return "generic"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return "generic"
    if parts.scheme != "https" or parts.username or parts.password:
        return "generic"
    if host in AZURE_HOSTS:
        return "azure"
    if host in GOOGLE_HOSTS:
        return "google"
    return "generic"
