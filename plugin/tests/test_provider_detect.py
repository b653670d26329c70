"""Provider detection by the exact host of the token endpoint."""

from __future__ import annotations

import pytest

from orthanc_dicomweb_oauth.loader.provider_detect import detect_provider


@pytest.mark.parametrize("url,expected", [
    ("https://login.microsoftonline.com/t/oauth2/v2.0/token", "azure"),
    ("https://LOGIN.microsoftonline.com./t/oauth2/v2.0/token", "azure"),
    ("https://oauth2.googleapis.com/token", "google"),
    ("https://login.microsoftonline.com.evil.example/token", "generic"),
    ("https://evil.example/login.microsoftonline.com/token", "generic"),
    ("https://login.microsoftonline.com@evil.example/token", "generic"),
    ("https://user@login.microsoftonline.com/token", "generic"),
    ("https://notoauth2.googleapis.com/token", "generic"),
    ("http://oauth2.googleapis.com/token", "generic"),
    ("https://keycloak.example.org/realms/r/protocol/openid-connect/token", "generic"),
    ("not a url", "generic"), (None, "generic"),
])
def test_detection_by_exact_host(url, expected):
    assert detect_provider(url) == expected
