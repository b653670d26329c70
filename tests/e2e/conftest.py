"""Real Orthanc pairs: a source running the plugin, a target that accepts only valid JWTs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Callable, Optional

import pytest

from testenv import IdentityProvider
from testenv.orthanc import RELEASE, OrthancServer
from tests.conftest import STATE_DIR, report
from tests.helpers.config import LOOPBACK
from tests.helpers.idp_resources import DICOM_AUDIENCE

CREDENTIALS = ("admin", "orthanc-test-pw-31d8")
# The Orthanc and orthanc-python each Debian release ships (testenv.orthanc.RELEASE picks one).
RELEASE_VERSIONS = {"bookworm": ("1.10.", "4.0"), "trixie": ("1.12.", "5.")}
_counter = itertools.count()


@pytest.fixture(scope="session")
def target(_idp_session: IdentityProvider) -> Iterator[OrthancServer]:
    t = OrthancServer.target(STATE_DIR, "target", _idp_session.jwks_uri, DICOM_AUDIENCE, _idp_session.issuer)
    t.stop()
    t.start()
    orthanc, python = t.get("/system")["Version"], t.get("/plugins/python")["Version"]
    report(f"end-to-end tests on Debian {RELEASE}'s orthanc {orthanc} with orthanc-python {python}")
    want_orthanc, want_python = RELEASE_VERSIONS[RELEASE]
    assert orthanc.startswith(want_orthanc) and python.startswith(want_python), (RELEASE, orthanc, python)
    try:
        yield t
    finally:
        t.stop()


def oauth_section(idp: IdentityProvider, target: OrthancServer, client_id: str = "orthanc",
                  top: Optional[dict[str, Any]] = None, **server: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "Url": f"{target.url}/dicom-web/",
        "TokenEndpoint": idp.token_endpoint,
        "ClientId": client_id,
        "ClientSecret": "${REMOTE_CLIENT_SECRET}",
        "ClientAuthMethod": idp.client(client_id)["token_endpoint_auth_method"],
        "Scope": "dicom.read dicom.write",
        "Resilience": {"MaxRetries": 1, "RetryInitialDelaySeconds": 0.1, "RetryMaxDelaySeconds": 0.5,
                       "CircuitBreakerThreshold": 2, "CircuitBreakerTimeoutSeconds": 3},
    }
    s.update(server)
    return {"Servers": {"remote": {k: v for k, v in s.items() if v is not None}}, "AllowPrivateHosts": LOOPBACK,
            **(top or {})}


SourceFactory = Callable[..., OrthancServer]


def published(src: OrthancServer) -> bool:
    """Whether the plugin has defined the server "remote" in the source Orthanc."""
    return bool(src.get("/dicomweb-oauth/status")["servers"]["remote"]["published"])


@pytest.fixture
def make_source(idp: IdentityProvider, target: OrthancServer) -> Iterator[SourceFactory]:
    started: list[OrthancServer] = []

    def make(section: Optional[dict[str, Any]] = None, extra: Optional[dict[str, Any]] = None,
             credentials: Optional[tuple[str, str]] = CREDENTIALS, client_id: str = "orthanc",
             start: bool = True) -> OrthancServer:
        if section is None:
            section = oauth_section(idp, target, client_id)
        src = OrthancServer.source(STATE_DIR, f"source{next(_counter)}", section,
                                   env={"REMOTE_CLIENT_SECRET": idp.client(client_id)["client_secret"]},
                                   extra=extra, credentials=credentials)
        started.append(src)
        if start:
            src.start()
        return src

    yield make
    for s in started:
        s.stop()
