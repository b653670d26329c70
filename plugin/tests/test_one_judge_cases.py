"""The loader's answers to what the lint and the plugin once disagreed on (issue: one judge, the
last disagreements): secrets that are not strings, AllowPrivateHosts entries that are not one
host, AWS's metadata name, credentials a provider never reads, ${VAR} the compiler cannot know,
and errors that name the older plugin's keys as the user wrote them."""

from __future__ import annotations

import pytest

from orthanc_dicomweb_oauth.loader.config import check_config, unused_keys

OK = {"Url": "https://dicom.example.org/dicom-web", "TokenEndpoint": "https://idp.example.org/token",
      "ClientId": "orthanc", "ClientSecret": "s3cr3t-value-123"}
ENC = "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="
REDIS = {"Backend": "redis", "RedisUrl": "rediss://redis.example.org:6380/0", "EncryptionKey": ENC}


def judge(server=None, environ=None, defer=False, **top):
    return check_config({"Servers": {"remote": {**OK, **(server or {})}}, **top},
                        environ={} if environ is None else environ, defer=defer, host_files=not defer)


GOOGLE = {"Url": "https://healthcare.googleapis.com/v1/dicomWeb", "ProviderType": "google"}


@pytest.mark.parametrize(("server", "top", "key"), [
    ({**OK, "ClientSecret": ["s3cr3t"]}, {}, "Servers.remote.ClientSecret"),
    ({**OK, "ClientSecret": True}, {}, "Servers.remote.ClientSecret"),
    ({**GOOGLE, "ServiceAccountKey": {"private_key": "s3cr3t"}}, {}, "Servers.remote.ServiceAccountKey"),
    (OK, {"Cache": {**REDIS, "RedisPassword": {"value": "s3cr3t"}}}, "Cache.RedisPassword"),
    (OK, {"Cache": {**REDIS, "EncryptionKey": True}}, "Cache.EncryptionKey"),
])
def test_a_secret_that_is_not_a_string_is_refused_without_repeating_it(server, top, key):
    cfg, errors = check_config({"Servers": {"remote": server}, **top}, environ={})
    assert cfg is None and ("CFG-002", f"DicomWebOAuth.{key}") in [(e.code, e.key) for e in errors]
    assert all("s3cr3t" not in e.message for e in errors)


@pytest.mark.parametrize("entry", ["10.0.0.0/8", "*", "*.hospital.lan", "fe80::/10", ""])
def test_allow_private_hosts_entries_are_single_hosts(entry):
    cfg, errors = judge({"Url": "https://10.0.0.5/dicom-web"}, AllowPrivateHosts=[entry])
    assert cfg is None
    assert any(e.code == "CFG-002" and e.key and e.key.startswith("DicomWebOAuth.AllowPrivateHosts") for e in errors)
    cfg, errors = judge({"Url": "https://10.0.0.5/dicom-web"}, AllowPrivateHosts=["10.0.0.5"])
    assert errors == [] and cfg is not None


@pytest.mark.parametrize("host", ["instance-data", "instance-data.ec2.internal", "INSTANCE-DATA."])
def test_aws_instance_data_is_a_metadata_endpoint(host):
    _cfg, errors = judge({"Url": f"https://{host}/dicom-web"})
    assert [e.code for e in errors] == ["SEC-009"] and "metadata" in errors[0].detail


def test_credentials_a_provider_never_reads_are_named_in_a_warning():
    server = {"Url": OK["Url"], "ClientId": "orthanc", "ClientSecret": "s3cr3t-value-123", "ProviderType": "google",
              "ServiceAccountKey": '{"type": "service_account"}'}
    assert unused_keys(server) == ["ClientId", "ClientSecret"]
    cfg, errors = check_config({"Servers": {"g": server}}, environ={})
    assert errors == [] and cfg is not None
    assert "server 'g': ClientSecret is set but provider google does not use it; remove it" in cfg.warnings
    mi = {"Url": OK["Url"], "ProviderType": "azure-managed-identity", "Resource": "https://dicom.healthcareapis.azure.com",
          "Scope": "https://dicom.healthcareapis.azure.com/.default"}
    cfg, errors = check_config({"Servers": {"mi": mi}}, environ={})
    assert errors == [] and any("Scope is set but provider azure-managed-identity" in w for w in cfg.warnings)
    assert unused_keys({**OK}) == []


def test_managed_identity_without_resource_is_told_the_resource_its_scope_means():
    mi = {"Url": OK["Url"], "ProviderType": "azuremanagedidentity",
          "Scope": "https://dicom.healthcareapis.azure.com/.default"}
    _cfg, errors = check_config({"Servers": {"mi": mi}}, environ={})
    assert [e.code for e in errors] == ["CFG-007"]
    assert "Resource: https://dicom.healthcareapis.azure.com" in errors[0].detail


def test_a_variable_in_a_url_is_left_to_the_host_with_a_note_and_checked_there():
    cfg, errors = judge({"Url": "${STAGING_URL}/dicom-web"}, defer=True)
    assert errors == [] and cfg is not None
    assert any("Url holds ${STAGING_URL}" in w and "write the value itself in the inventory" in w for w in cfg.warnings)
    _cfg, errors = judge({"Url": "${STAGING_URL}/dicom-web"})  # at start, unset
    assert "CFG-003" in [e.code for e in errors]
    cfg, errors = judge({"Url": "${STAGING_URL}/dicom-web"}, environ={"STAGING_URL": "https://pacs.example.org"})
    assert errors == [] and cfg is not None and cfg.servers["remote"].url == "https://pacs.example.org/dicom-web"
    _cfg, errors = judge({"Url": "${STAGING_URL}/dicom-web"}, environ={"STAGING_URL": "http://pacs.example.org"})
    assert [e.code for e in errors] == ["SEC-003"]


@pytest.mark.parametrize(("written", "top", "path", "read_as"), [
    ({"DicomWebRoot": "ftp://pacs.example.org/x"}, {}, "Servers.remote.DicomWebRoot", "Servers.remote.Url"),
    ({"ResilienceConfig": {"RetryMaxAttempts": -3}}, {}, "Servers.remote.ResilienceConfig.RetryMaxAttempts",
     "Servers.remote.Resilience.MaxRetries"),
    ({}, {"RateLimitRequests": 0}, "RateLimitRequests", "RateLimit.Requests"),
])
def test_errors_name_the_older_plugins_key_as_the_user_wrote_it(written, top, path, read_as):
    server = {k: v for k, v in OK.items() if not (k == "Url" and "DicomWebRoot" in written)}
    _cfg, errors = check_config({"Servers": {"remote": {**server, **written}}, **top}, environ={})
    assert [(e.code, e.key) for e in errors] == [("CFG-002", f"DicomWebOAuth.{path}")]
    assert f"(read as {read_as})" in errors[0].detail
