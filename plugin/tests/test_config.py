"""Loading the DicomWebOAuth section: substitution, schema, policy and older-plugin configs."""

from __future__ import annotations

import base64

import pytest

from orthanc_dicomweb_oauth.loader.config import legacy_proxy_server, load_config, schema_errors
from orthanc_dicomweb_oauth.loader.errors import OAuthPluginError

OK = {"Url": "https://dicom.example.org/dicom-web", "TokenEndpoint": "https://idp.example.org/token",
      "ClientId": "orthanc", "ClientSecret": "${SECRET}"}
ENV = {"SECRET": "s3cr3t-value-123"}


def cfg(server=None, env=ENV, **top):
    return load_config({"Servers": {"remote": {**OK, **(server or {})}}, **top}, environ=env)


def refused(code, *args, **kw):
    with pytest.raises(OAuthPluginError) as e:
        cfg(*args, **kw)
    assert e.value.code == code, str(e.value)
    return e.value


def test_minimal_config_defaults():
    c = cfg()
    s = c.servers["remote"]
    assert s.client_secret.reveal() == "s3cr3t-value-123"
    assert s.provider_type == "generic" and s.client_auth_method == "client_secret_basic"
    assert s.verify_ssl and s.refresh_buffer == 300 and s.resilience.max_retries == 3
    assert c.cache.backend == "memory" and c.rate_limit_requests == 10
    assert "s3cr3t" not in repr(c)


def test_env_unset_is_cfg003_naming_key():
    e = refused("CFG-003", env={})
    assert "SECRET" in e.message and e.key == "DicomWebOAuth.Servers.remote.ClientSecret"


def test_env_escape_and_embedding():
    c = cfg({"Scope": "$${LITERAL} ${A}-x"}, env={**ENV, "A": "a"})
    assert c.servers["remote"].scope == "${LITERAL} a-x"


def test_not_an_object():
    with pytest.raises(OAuthPluginError) as e:
        load_config(["x"], environ={})
    assert e.value.code == "CFG-001"


def test_typo_gets_a_hint():
    e = refused("CFG-002", {"TokenEndpiont": "https://x/token"})
    assert "did you mean TokenEndpoint" in e.message and e.server == "remote"


def test_schema_error_never_echoes_a_secret():
    e = refused("CFG-002", {"ClientSecret": ""}, env={})
    assert e.key.endswith("ClientSecret")


def test_all_schema_errors_listed():
    errs = schema_errors({"Servers": {"a": {"Url": 3, "VerifySSL": "no"}}})
    assert [(e.code, e.key) for e in errs] == [("CFG-002", "DicomWebOAuth.Servers.a.Url"),
                                                ("CFG-002", "DicomWebOAuth.Servers.a.VerifySSL")]


def test_verify_ssl_false_needs_allow_insecure():
    refused("SEC-001", {"VerifySSL": False})
    c = cfg({"VerifySSL": False, "AllowInsecureSSL": True})
    assert c.servers["remote"].tls_verify is False
    assert any("SEC-004" in w for w in c.warnings)


def test_plain_http_only_on_allowed_loopback():
    refused("SEC-003", {"TokenEndpoint": "http://idp.example.org/token"})
    refused("SEC-003", {"Url": "http://10.0.0.5/dicom-web"}, AllowPrivateHosts=["10.0.0.5"])
    refused("SEC-009", {"TokenEndpoint": "http://127.0.0.1:8080/token"})
    assert cfg({"TokenEndpoint": "http://127.0.0.1:8080/token"}, AllowPrivateHosts=["127.0.0.1"])
    assert cfg({"TokenEndpoint": "http://[::1]:8080/token"}, AllowPrivateHosts=["::1"])


def test_authorization_header_refused():
    refused("SEC-006", {"HttpHeaders": {"authorization": "Basic x"}})


def test_pass_through_fields():
    c = cfg({"HasDelete": True, "Timeout": 30, "HttpHeaders": {"X-Site": "a"}})
    assert dict(c.servers["remote"].dicomweb) == {"HasDelete": True, "Timeout": 30, "HttpHeaders": {"X-Site": "a"}}


def test_provider_requirements():
    refused("CFG-007", {"ProviderType": "google"})
    refused("CFG-007", {"ProviderType": "azure-managed-identity"})
    e = refused("CFG-007", {"ProviderType": "azure"})
    assert "Scope or Resource" in e.message
    with pytest.raises(OAuthPluginError) as err:
        load_config({"Servers": {"r": {"Url": OK["Url"], "TokenEndpoint": OK["TokenEndpoint"]}}}, environ={})
    assert err.value.code == "CFG-007" and "ClientId, ClientSecret" in err.value.message


def test_jwt_validation_needs_keys():
    refused("CFG-007", {"ValidateJWT": True})
    assert cfg({"ValidateJWT": True, "Issuer": "https://idp.example.org"}).servers["remote"].jwt.enabled


def test_auto_detection_sets_azure_defaults():
    s = cfg({"TokenEndpoint": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
             "Resource": "https://dicom.healthcareapis.azure.com"}).servers["remote"]
    assert s.provider_type == "azure" and s.client_auth_method == "client_secret_post"
    assert s.scope == "https://dicom.healthcareapis.azure.com/.default"


def test_redis_backend_needs_url_and_32_byte_key():
    with pytest.raises(OAuthPluginError) as e:
        cfg(Cache={"Backend": "redis", "RedisUrl": "redis://127.0.0.1:6379/0"})
    assert e.value.code == "CFG-008"
    with pytest.raises(OAuthPluginError) as e:
        cfg(Cache={"Backend": "redis", "RedisUrl": "redis://127.0.0.1:6379/0",
                   "EncryptionKey": base64.b64encode(b"short").decode()})
    assert e.value.code == "CFG-008"
    c = cfg(Cache={"Backend": "redis", "RedisUrl": "redis://127.0.0.1:6379/0",
                   "EncryptionKey": base64.b64encode(b"k" * 32).decode()})
    assert c.cache.backend == "redis" and "kkkk" not in repr(c)


def test_ca_bundle_must_exist(tmp_path):
    refused("CFG-009", {"CaBundle": str(tmp_path / "missing.pem")})
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert cfg({"CaBundle": str(ca)}).servers["remote"].tls_verify == str(ca)


# -- the older orthanc-dicomweb-oauth plugin -------------------------------------------------------

def test_legacy_configuration_loads():
    legacy = {
        "ConfigVersion": "2.0",
        "RateLimitRequests": 20,
        "RateLimitWindowSeconds": 30,
        "Servers": {"remote": {**OK, "ProviderType": "generic", "VerifySSL": True,
                               "TokenRefreshBufferSeconds": 120, "JWTAudience": "api://dicom",
                               "JWTIssuer": "https://idp.example.org", "JWTAlgorithms": ["RS256"],
                               "JWTPublicKey": "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----",
                               "ResilienceConfig": {"CircuitBreakerEnabled": True,
                                                    "CircuitBreakerFailureThreshold": 3,
                                                    "CircuitBreakerTimeout": 30,
                                                    "RetryMaxAttempts": 2, "RetryStrategy": "exponential",
                                                    "RetryInitialDelay": 1.0, "RetryMultiplier": 2.0,
                                                    "RetryMaxDelay": 10.0}}},
    }
    c = load_config(legacy, environ=ENV)
    s = c.servers["remote"]
    assert c.rate_limit_requests == 20 and c.rate_limit_window == 30
    assert s.resilience.breaker_threshold == 3 and s.resilience.breaker_timeout == 30
    assert s.resilience.max_retries == 2 and s.resilience.max_delay == 10
    assert s.jwt.enabled and s.jwt.audience == "api://dicom"
    assert any("RateLimit.Requests" in w for w in c.warnings)
    assert any("ResilienceConfig" in w for w in c.warnings)


def test_legacy_unknown_resilience_key_refused_with_replacement():
    e = refused("CFG-004", {"ResilienceConfig": {"RetryJitter": True}})
    assert "ResilienceConfig.RetryJitter has no equivalent" in e.message and "MaxRetries" in e.message


def test_legacy_and_new_both_set_refused():
    e = refused("CFG-004", RateLimitRequests=5, RateLimit={"Requests": 5})
    assert "remove RateLimitRequests" in e.message


def test_legacy_proxy_url_refused_with_migration():
    e = refused("CFG-005", {"Url": "http://localhost:8042/oauth-dicom-web/servers/remote"})
    assert "real remote" in e.message
    assert legacy_proxy_server("http://localhost:8042/oauth-dicom-web/servers/pacs/") == "pacs"
    assert legacy_proxy_server("https://dicom.example.org/dicom-web") is None
