"""Python plugin of the *target* Orthanc: the protected remote DICOMweb server of the tests.

Requests under /dicom-web/ pass only with ``Authorization: Bearer <JWT>`` that verifies against
the identity provider's JWKS, with the expected audience and issuer and an unexpired ``exp``;
anything else gets 403 (an incoming-request filter can only refuse with 403). Every decision is
appended, as one JSON line without the token, to the file named by ``TestJwtFilter.LogFile``,
so tests can see what the target saw. Configuration: section ``TestJwtFilter`` with ``JwksUri``,
``Audience``, ``Issuer``, ``LogFile``."""

import hashlib
import json
import os
import threading
import time

import jwt
import orthanc
import requests

CFG = json.loads(orthanc.GetConfiguration()).get("TestJwtFilter", {})
_lock = threading.Lock()
_keys = {"set": None, "at": 0.0}


def _jwks(force=False):
    with _lock:
        if _keys["set"] is None or (force and time.monotonic() - _keys["at"] > 2):
            data = requests.get(CFG["JwksUri"], timeout=5).json()
            _keys["set"] = jwt.PyJWKSet.from_dict(data)
            _keys["at"] = time.monotonic()
        return _keys["set"]


def _verify(token):
    kid = jwt.get_unverified_header(token).get("kid")
    for force in (False, True):
        for k in _jwks(force).keys:
            if k.key_id == kid:
                return jwt.decode(token, k.key, algorithms=["RS256"], audience=CFG["Audience"],
                                  issuer=CFG["Issuer"], options={"require": ["exp"]})
    raise jwt.InvalidTokenError("unknown kid")


def _record(entry):
    with _lock, open(CFG["LogFile"], "a") as f:
        f.write(json.dumps(entry) + "\n")


def _record_token(token):
    # Test-only: the raw tokens the target received, so tests can search logs and answers
    # of the *source* for them. Mode 0600, inside the test's own state directory.
    path = CFG["LogFile"] + ".tokens"
    with _lock:
        with open(path, "a") as f:
            f.write(token + "\n")
        os.chmod(path, 0o600)


METHODS = {1: "GET", 2: "POST", 3: "PUT", 4: "DELETE"}


def http_filter(uri, **request):
    if not uri.startswith("/dicom-web/"):
        return True
    auth = request.get("headers", {}).get("authorization", "")
    entry = {"t": time.time(), "method": METHODS.get(request.get("method"), "?"), "uri": uri,
             "node": request.get("headers", {}).get("x-node")}
    ok = False
    if auth.startswith("Bearer "):
        token = auth[7:]
        entry["token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
        _record_token(token)
        try:
            claims = _verify(token)
            entry.update(client_id=claims.get("client_id"), exp=claims["exp"], aud=claims.get("aud"))
            ok = True
        except Exception as e:  # any failure is a refusal
            entry["reason"] = type(e).__name__
    else:
        entry["reason"] = "no bearer token"
    entry["ok"] = ok
    _record(entry)
    return ok


orthanc.RegisterIncomingHttpRequestFilter(http_filter)
