"""Python plugin of the *target* Orthanc: the protected remote DICOMweb server of the tests.

Requests under /dicom-web/ pass only with ``Authorization: Bearer <JWT>`` that verifies against
the identity provider's JWKS, with the expected audience and issuer and an unexpired ``exp``;
anything else gets 403 (an incoming-request filter can only refuse with 403). Every decision is
appended, as one JSON line without the token, to the file named by ``TestJwtFilter.LogFile``,
so tests can see what the target saw. Configuration: section ``TestJwtFilter`` with ``JwksUri``,
``Audience``, ``Issuer``, ``LogFile``, ``RecordTokens`` (default true)."""

import hashlib
import json
import os
import threading
import time
from typing import Any, Optional

import jwt
import orthanc
import requests

CFG: dict[str, Any] = json.loads(orthanc.GetConfiguration()).get("TestJwtFilter", {})
METHODS = {1: "GET", 2: "POST", 3: "PUT", 4: "DELETE"}


class _Keys:
    """The provider's JWKS, fetched again (at most every 2 s) when an unknown key id shows up,
    and whenever it is older than ``KeysMaxAgeSeconds`` (default 2): like a real service, the
    target stops accepting tokens signed with a key the provider withdrew."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keyset: Optional[jwt.PyJWKSet] = None
        self.fetched_at = 0.0

    def get(self, force: bool = False) -> jwt.PyJWKSet:
        with self.lock:
            age = time.monotonic() - self.fetched_at
            if self.keyset is None or (force and age > 2) or age > float(CFG.get("KeysMaxAgeSeconds", 2)):
                try:
                    data = requests.get(CFG["JwksUri"], timeout=5).json()
                    self.keyset = jwt.PyJWKSet.from_dict(data)  # type: ignore[no-untyped-call]
                except Exception:
                    if self.keyset is None:
                        raise
                    # The provider is unreachable: keep verifying with the keys already known.
                self.fetched_at = time.monotonic()
            return self.keyset


_keys = _Keys()
_file_lock = threading.Lock()


def _verify(token: str) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token).get("kid")
    for force in (False, True):
        for k in _keys.get(force).keys:
            if k.key_id == kid:
                claims: dict[str, Any] = jwt.decode(
                    token, k.key, algorithms=["RS256"], audience=CFG["Audience"], issuer=CFG["Issuer"],
                    options={"require": ["exp"]})
                return claims
    raise jwt.InvalidTokenError("unknown kid")


def _append(path: str, line: str) -> None:
    with _file_lock:
        with open(path, "a") as f:
            f.write(line + "\n")
        os.chmod(path, 0o600)


def http_filter(uri: str, **request: Any) -> bool:
    if not uri.startswith("/dicom-web/"):
        return True
    headers = request.get("headers", {})
    auth = headers.get("authorization", "")
    entry: dict[str, Any] = {"t": time.time(), "method": METHODS.get(int(request.get("method") or 0), "?"),
                             "uri": uri, "node": headers.get("x-node"), "ip": request.get("ip"),
                             "forwarded_for": headers.get("x-forwarded-for")}
    ok = False
    if auth.startswith("Bearer "):
        token = auth[7:]
        entry["token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
        # Test-only: the raw tokens received, so tests can search the *source's* logs and
        # answers for them. Mode 0600, inside the test's own state directory; the demo turns it off.
        if CFG.get("RecordTokens", True):
            _append(CFG["LogFile"] + ".tokens", token)
        try:
            claims = _verify(token)
            entry.update(client_id=claims.get("client_id"), exp=claims["exp"], aud=claims.get("aud"))
            ok = True
        except Exception as e:  # any failure is a refusal
            entry["reason"] = type(e).__name__
    else:
        entry["reason"] = "no bearer token"
    entry["ok"] = ok
    _append(CFG["LogFile"], json.dumps(entry))
    return ok


orthanc.RegisterIncomingHttpRequestFilter(http_filter)
