"""The Orthanc bridge with a fake ``orthanc`` module (the real one is exercised in tests/e2e)."""

from __future__ import annotations

import json
import logging

from orthanc_dicomweb_oauth.loader.orthanc_settings import dicomweb_servers
from orthanc_dicomweb_oauth.loader.redaction import get_logger
from orthanc_dicomweb_oauth.runtime.orthanc_plugin import PluginRuntime
from orthanc_dicomweb_oauth.runtime.providers.base import Token


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
        "orthanc_dicomweb_oauth.runtime.token_manager", fromlist=["x"]).build_managers(cfg, m))


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


class _Output404:
    """A RestOutput whose SendHttpStatus parses its arguments as one orthanc-python release does
    (4.0: status, str, length; 4.2 and later: status, body); the wrong form is a TypeError."""

    def __init__(self, with_length: bool) -> None:
        self.with_length = with_length
        self.sent: list[tuple[int, str]] = []
        self.headers: dict[str, str] = {}

    def SetHttpHeader(self, k: str, v: str) -> None:
        self.headers[k] = v

    def SendHttpStatus(self, status: int, body: str, *length: int) -> None:
        if (len(length) == 1) != self.with_length:
            raise TypeError("Bad types for the arguments")
        self.sent.append((status, body))


def test_error_answers_under_either_orthanc_python(monkeypatch):
    from orthanc_dicomweb_oauth.runtime import orthanc_plugin
    from orthanc_dicomweb_oauth.runtime.rest_api import Response

    for with_length in (True, False):
        monkeypatch.setattr(orthanc_plugin, "_status_with_length", None)
        out = _Output404(with_length)
        for _ in range(2):  # the form learnt on the first answer is the one used after
            orthanc_plugin._answer(out, Response(404, b'{"error": "x"}', "application/json"))
        assert out.sent == [(404, '{"error": "x"}')] * 2
        assert orthanc_plugin._status_with_length is with_length
        assert out.headers["Content-Type"] == "application/json"
