"""Cloud providers. The real OpenID provider plays Entra ID's v2.0 token endpoint; the metadata
services and Google's JWT-bearer grant are played by a small loopback server (FakeServer)
that checks each request exactly: method, headers, form fields, and for Google the
assertion's RS256 signature against the service account's public key and its claims."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from orthanc_dicomweb_oauth.loader.config import load_config
from orthanc_dicomweb_oauth.loader.errors import OAuthPluginError
from orthanc_dicomweb_oauth.runtime.metrics import Metrics
from orthanc_dicomweb_oauth.runtime.token_manager import build_managers
from tests.helpers.config import LOOPBACK
from tests.helpers.fake_http import FakeServer, Request

pytestmark = pytest.mark.real


def one_manager(server: dict):
    return build_managers(load_config({"Servers": {"s": server}, "AllowPrivateHosts": LOOPBACK}, environ={}), Metrics())["s"]


def test_azure_client_secret_v2_form(idp):
    """Entra v2.0: client_secret_post and scope=<resource>/.default, against a real provider
    that knows the scope; the provider's log shows the secret came in the form body."""
    m = one_manager({"Url": "http://127.0.0.1:9/dicom-web", "ProviderType": "azure",
                     "TokenEndpoint": idp.token_endpoint, "ClientId": "orthanc-post",
                     "ClientSecret": idp.client("orthanc-post")["client_secret"],
                     "Scope": "dicom.read"})
    assert m.server.client_auth_method == "client_secret_post"
    assert m.get_token()
    assert idp.stats()["events"][0]["auth"] == "body"


def test_azure_v2_request_shape():
    def handler(req: Request):
        assert req.method == "POST" and req.path == "/tenant-1/oauth2/v2.0/token"
        assert req.form == {"grant_type": ["client_credentials"], "client_id": ["app-id"],
                            "client_secret": ["azure-secret-value"],
                            "scope": ["https://dicom.example.azurehealthcareapis.com/.default"]}
        return 200, {"access_token": "azure-token-abcdef", "expires_in": 3599, "token_type": "Bearer"}

    with FakeServer(handler) as fake:
        m = one_manager({"Url": "https://ws-dicom.dicom.azurehealthcareapis.com/v2", "ProviderType": "azure",
                         "TokenEndpoint": f"{fake.url}/tenant-1/oauth2/v2.0/token", "ClientId": "app-id",
                         "ClientSecret": "azure-secret-value",
                         "Resource": "https://dicom.example.azurehealthcareapis.com"})
        assert m.get_token() == "azure-token-abcdef"
        assert len(fake.requests) == 1


def test_azure_tenant_builds_endpoint():
    m = one_manager({"Url": "https://x.dicom.azurehealthcareapis.com/v2", "TenantId": "contoso.onmicrosoft.com",
                     "ProviderType": "azure", "ClientId": "a", "ClientSecret": "secret-value",
                     "Resource": "https://dicom.healthcareapis.azure.com"})
    assert m.provider.token_endpoint() == \
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert m.server.scope == "https://dicom.healthcareapis.azure.com/.default"


def test_azure_managed_identity():
    expires_on = int(time.time()) + 3600

    def handler(req: Request):
        assert req.method == "GET" and req.path == "/metadata/identity/oauth2/token"
        assert req.headers.get("metadata") == "true"
        assert req.query == {"api-version": ["2018-02-01"], "resource": ["https://dicom.healthcareapis.azure.com"],
                             "client_id": ["user-assigned-id"]}
        return 200, {"access_token": "mi-token-123456", "expires_on": str(expires_on),
                     "expires_in": "3599", "resource": "https://dicom.healthcareapis.azure.com",
                     "token_type": "Bearer"}

    with FakeServer(handler) as fake:
        m = one_manager({"Url": "https://x.dicom.azurehealthcareapis.com/v2",
                         "ProviderType": "azure-managed-identity", "ClientId": "user-assigned-id",
                         "Resource": "https://dicom.healthcareapis.azure.com",
                         "MetadataUrl": f"{fake.url}/metadata/identity/oauth2/token"})
        assert m.get_token() == "mi-token-123456"
        assert abs(m.current().expires_at - (time.time() + 3599)) < 5


@pytest.fixture(scope="module")
def service_account(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "client_email": "orthanc@proj.iam.gserviceaccount.com",
            "private_key_id": "kid-1", "private_key": pem}
    path = tmp_path_factory.mktemp("sa") / "key.json"
    path.write_text(json.dumps(info))
    path.chmod(0o600)
    return path, key.public_key(), info


def test_google_service_account_assertion(service_account):
    path, public_key, info = service_account

    def handler(req: Request):
        assert req.method == "POST" and req.path == "/token"
        assert req.form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        assertion = req.form["assertion"][0]
        header = jwt.get_unverified_header(assertion)
        assert header["alg"] == "RS256" and header["kid"] == "kid-1"
        claims = jwt.decode(assertion, public_key, algorithms=["RS256"], audience=token_uri)
        assert claims["iss"] == info["client_email"]
        assert claims["scope"] == "https://www.googleapis.com/auth/cloud-healthcare"
        assert 0 < claims["exp"] - claims["iat"] <= 3600 and abs(claims["iat"] - time.time()) < 60
        return 200, {"access_token": "ya29.google-token", "expires_in": 3599, "token_type": "Bearer"}

    with FakeServer(handler) as fake:
        token_uri = f"{fake.url}/token"
        store = "projects/p/locations/l/datasets/d/dicomStores/s"
        m = one_manager({"Url": f"https://healthcare.googleapis.com/v1/{store}/dicomWeb",
                         "ProviderType": "google", "TokenEndpoint": token_uri,
                         "ServiceAccountKeyFile": str(path)})
        assert m.get_token() == "ya29.google-token"
        assert len(fake.requests) == 1


def test_google_refusal_is_coded(service_account):
    path, _, _ = service_account
    refusal = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    with FakeServer(lambda req: (400, refusal)) as fake:
        m = one_manager({"Url": "https://healthcare.googleapis.com/v1/x", "ProviderType": "google",
                         "TokenEndpoint": f"{fake.url}/token", "ServiceAccountKeyFile": str(path)})
        with pytest.raises(OAuthPluginError) as e:
            m.get_token()
        assert e.value.code == "AUTH-003" and "invalid_grant" in str(e.value)
        assert len(fake.requests) == 1


def test_google_metadata_server():
    def handler(req: Request):
        assert req.method == "GET"
        assert req.path == "/computeMetadata/v1/instance/service-accounts/default/token"
        assert req.headers.get("metadata-flavor") == "Google"
        return 200, {"access_token": "ya29.metadata-token", "expires_in": 3000, "token_type": "Bearer"}

    with FakeServer(handler) as fake:
        m = one_manager({"Url": "https://healthcare.googleapis.com/v1/x", "ProviderType": "google-metadata",
                         "MetadataUrl": f"{fake.url}/computeMetadata/v1/instance/service-accounts/default/token"})
        assert m.get_token() == "ya29.metadata-token"


def test_malformed_token_answer_is_coded():
    with FakeServer(lambda req: (200, {"token": "no-access-token-field"})) as fake:
        m = one_manager({"Url": "http://127.0.0.1:9/x", "TokenEndpoint": f"{fake.url}/token",
                         "ClientId": "c", "ClientSecret": "secret-value"})
        with pytest.raises(OAuthPluginError) as e:
            m.get_token()
        assert e.value.code == "TOK-001"


def test_tls_verification_with_ca_bundle(tmp_path):
    """A token endpoint with a private CA: refused without CaBundle (NET-003), accepted with it,
    and with VerifySSL false only together with AllowInsecureSSL (logged as SEC-004)."""
    answer = {"access_token": "tls-token-123456", "expires_in": 300, "token_type": "Bearer"}
    with FakeServer(lambda req: (200, answer), tls_dir=tmp_path) as fake:
        base = {"Url": "http://127.0.0.1:9/x", "TokenEndpoint": f"{fake.url}/token", "ClientId": "c",
                "ClientSecret": "secret-value", "Resilience": {"MaxRetries": 0}}
        with pytest.raises(OAuthPluginError) as e:
            one_manager(base).get_token()
        assert e.value.code == "NET-003"
        assert one_manager({**base, "CaBundle": fake.ca_file}).get_token() == "tls-token-123456"
        insecure = load_config({"Servers": {"s": {**base, "VerifySSL": False, "AllowInsecureSSL": True}},
                               "AllowPrivateHosts": LOOPBACK}, environ={})
        assert any("SEC-004" in w for w in insecure.warnings)
        assert build_managers(insecure, Metrics())["s"].get_token() == "tls-token-123456"


def test_generic_form_carries_scope_audience_and_resource():
    """Auth0 needs audience, RFC 8707 servers resource: both sent as given, secret in the form body
    for client_secret_post."""
    def handler(req: Request):
        assert req.form == {"grant_type": ["client_credentials"], "scope": ["read"], "audience": ["https://api.example"],
                            "resource": ["https://dicom.example/"], "client_id": ["c"],
                            "client_secret": ["secret-value"]}
        return 200, {"access_token": "form-token-123456", "expires_in": 300, "token_type": "Bearer"}

    with FakeServer(handler) as fake:
        m = one_manager({"Url": "http://127.0.0.1:9/x", "TokenEndpoint": f"{fake.url}/token", "ClientId": "c",
                         "ClientSecret": "secret-value", "ClientAuthMethod": "client_secret_post", "Scope": "read",
                         "Audience": "https://api.example", "Resource": "https://dicom.example/"})
        assert m.get_token() == "form-token-123456"


def test_jwks_poll_is_conditional_and_honours_max_age(tmp_path):
    """The key-rotation watch: ETag/If-None-Match, 304 keeps the keys, max-age lengthens the
    interval (capped), and a withdrawn key is seen. (The real provider sends neither header.)"""
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from orthanc_dicomweb_oauth.runtime.http import HttpClient
    from orthanc_dicomweb_oauth.runtime.jwt_validation import MAX_POLL_INTERVAL, JwtValidator

    keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2")}

    def jwk(kid):
        return {**json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(keys[kid].public_key())), "kid": kid,
                "use": "sig", "alg": "RS256"}

    state = {"kids": ["k1"], "etag": '"v1"', "max_age": "60"}

    def handler(req: Request):
        if req.headers.get("if-none-match") == state["etag"]:
            return 304, {}, {"ETag": state["etag"], "Cache-Control": f"max-age={state['max_age']}"}
        return 200, {"keys": [jwk(k) for k in state["kids"]]}, {"ETag": state["etag"],
                                                               "Cache-Control": f"max-age={state['max_age']}"}

    token = pyjwt.encode({"sub": "x", "exp": 9999999999}, keys["k1"], algorithm="RS256", headers={"kid": "k1"})
    with FakeServer(handler) as fake:
        cfg = load_config({"Servers": {"s": {"Url": "https://pacs.example.org/x", "TokenEndpoint": f"{fake.url}/t",
                                             "ClientId": "c", "ClientSecret": "secret-value", "ValidateJWT": True,
                                             "JwksUri": f"{fake.url}/jwks"}},
                           "AllowPrivateHosts": LOOPBACK}, environ={})
        v = JwtValidator(cfg.servers["s"], HttpClient("s"), None)
        assert v.key_withdrawn(token) is False and v.poll_interval() == 60
        assert v.key_withdrawn(token) is False  # answered 304: the keys are kept
        assert fake.requests[-1].headers["if-none-match"] == '"v1"'
        state.update(kids=["k2"], etag='"v2"', max_age="100000")
        assert v.key_withdrawn(token) is True
        assert v.poll_interval() == MAX_POLL_INTERVAL
        state["max_age"] = "0"
        v.key_withdrawn(token)
        assert v.poll_interval() == cfg.servers["s"].jwt.poll_seconds == 3
