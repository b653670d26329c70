"""The Orthanc bridge with a fake ``orthanc`` module (the real one is exercised in tests/e2e)."""

from __future__ import annotations

import json
import logging

from orthanc_dicomweb_oauth.orthanc_plugin import PluginRuntime
from orthanc_dicomweb_oauth.orthanc_settings import dicomweb_servers
from orthanc_dicomweb_oauth.providers.base import Token
from orthanc_dicomweb_oauth.redaction import get_logger


class FakeOrthanc:
    def __init__(self):
        self.puts: list[tuple[str, dict]] = []
        self.deletes: list[str] = []
        self.logs: list[str] = []

    def RestApiPutAfterPlugins(self, uri, body):
        self.puts.append((uri, json.loads(body)))

    def RestApiDeleteAfterPlugins(self, uri):
        self.deletes.append(uri)

    def LogInfo(self, m):
        self.logs.append(m)

    LogWarning = LogError = LogInfo


SECTION = {"Servers": {"pacs": {"Url": "https://pacs.example.org/dicom-web/",
                                "TokenEndpoint": "https://idp.example.org/token",
                                "ClientId": "c", "ClientSecret": "secret-value-1",
                                "HasDelete": True, "Timeout": 30, "ChunkedTransfers": False,
                                "HttpHeaders": {"X-Site": "north"}}},
           "LogLevel": "warning"}


def runtime(full):
    return PluginRuntime(FakeOrthanc(), full, manager_factory=lambda cfg, m: __import__(
        "orthanc_dicomweb_oauth.token_manager", fromlist=["x"]).build_managers(cfg, m))


def test_definition_carries_every_field_and_the_token():
    rt = runtime({"DicomWebOAuth": SECTION})
    assert rt.error is None and get_logger().level == logging.WARNING
    rt._started.set()
    tok = Token("tok-abcdef-123", "Bearer", 9e9, 0.0)
    rt._publisher("pacs")(tok)
    uri, body = rt.api.puts[-1]
    assert uri == "/dicom-web/servers/pacs"
    assert body == {"Url": "https://pacs.example.org/dicom-web/", "HasDelete": True, "Timeout": 30,
                    "ChunkedTransfers": False,
                    "HttpHeaders": {"X-Site": "north", "Authorization": "Bearer tok-abcdef-123"}}
    assert rt.is_published("pacs")
    rt._withdraw("pacs")
    assert rt.api.deletes == ["/dicom-web/servers/pacs"] and not rt.is_published("pacs")
    get_logger().setLevel(logging.INFO)


def test_conflicts_are_refused_with_codes(caplog):
    cases = [
        ({"DicomWeb": {"ServersInDatabase": True}}, "SEC-002"),
        ({"DicomWeb": {"Servers": {"pacs": ["https://x/dicom-web/"]}}}, "CFG-006"),
        ({"DicomWeb": {"Servers": {"old": {"Url": "http://localhost:8042/oauth-dicom-web/servers/old"}}}}, "CFG-005"),
    ]
    for extra, code in cases:
        rt = runtime({"DicomWebOAuth": SECTION, **extra})
        assert rt.error is not None and rt.error.code == code
        assert rt.managers == {} and rt.overall_status() == "error"
    assert "config.refused code=CFG-005" in caplog.text and "plugin.inactive code=INT-006" in caplog.text
    get_logger().setLevel(logging.INFO)


def test_missing_section_is_refused_not_fatal():
    rt = runtime({})
    assert rt.error is not None and rt.error.code == "CFG-001"


def test_dicomweb_servers_both_forms():
    assert dicomweb_servers({"DicomWeb": {"Servers": {"a": ["http://a/"], "b": {"Url": "http://b/"}}}}) == {
        "a": "http://a/", "b": "http://b/"}
