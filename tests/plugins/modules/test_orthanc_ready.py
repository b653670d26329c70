"""orthanc_ready's verdicts, one per branch, against a loopback stand-in for Orthanc and the
plugin's REST API (the real gate on real Orthanc servers is tests/e2e/test_orthanc_ready.py, and
on fresh hosts the molecule scenarios default and failure)."""

from __future__ import annotations

import json
from typing import Any, Optional

from tests.helpers.collection import run_playbook
from tests.helpers.fake_http import FakeServer, Request

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Gate
      dicomweb_oauth.orthanc.orthanc_ready:
        url: "{url}"
        username: admin
        password: gate-test-password-1
        name: node-1
        plugin: true
        unit: ""
        timeout: 3
        {extra}
      register: gate
      ignore_errors: true
    - name: Keep
      ansible.builtin.copy:
        content: "{{{{ gate | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""

SYSTEM = {"Name": "node-1", "Version": "1.12.7"}
PACS_OK = {"published": True, "last_result": "ok", "last_error": None}


def status(servers: Optional[dict[str, Any]] = None, **more: Any) -> dict[str, Any]:
    return {"status": "ok", "plugin_version": "0.2.0", "servers": {"pacs": PACS_OK} if servers is None else servers,
            **more}


def gate(tmp_path, answers: dict[tuple[str, str], Any], extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Runs the module against answers {(method, path): (status, body)}; returns its result."""
    def handler(req: Request):
        return answers.get((req.method, req.path), (404, {}))

    out = tmp_path / "r.json"
    lines = "\n        ".join(f"{k}: {json.dumps(v)}" for k, v in extra.items())
    with FakeServer(handler) as fake:
        proc = run_playbook(tmp_path, PLAYBOOK.format(url=fake.url, extra=lines, out=out))
    assert out.exists(), proc.stdout[-2000:]
    return json.loads(out.read_text()), proc.stdout + proc.stderr


def answers(plugin_status: dict[str, Any], test: Optional[tuple[int, Any]] = None) -> dict[tuple[str, str], Any]:
    """Orthanc's /system, the plugin's status, and the answer to a token test of pacs."""
    out = {("GET", "/system"): (200, SYSTEM), ("GET", "/dicomweb-oauth/status"): (200, plugin_status)}
    if test is not None:
        out[("POST", "/dicomweb-oauth/servers/pacs/test")] = test
    return out


def test_ready_when_orthanc_answers_as_itself_and_the_plugin_defines_every_server(tmp_path):
    result, out = gate(tmp_path, answers(status()), {"servers": ["pacs"], "plugin_version": "0.2.0"})
    assert not result.get("failed"), result
    assert result["servers"] == {"pacs": PACS_OK} and result["orthanc"] == SYSTEM and result["changed"] is False
    assert "gate-test-password-1" not in out


def test_another_orthanc_on_the_port_is_not_ready(tmp_path):
    result, _ = gate(tmp_path, {("GET", "/system"): (200, {"Name": "other", "Version": "1.10.1"})}, {})
    assert result["failed"] and "another Orthanc answers" in result["msg"] and "'other'" in result["msg"]


def test_nothing_on_the_port_is_reported_at_the_timeout(tmp_path):
    out = tmp_path / "r.json"
    extra = "servers: []"
    proc = run_playbook(tmp_path, PLAYBOOK.format(url="http://127.0.0.1:9", extra=extra, out=out))
    result = json.loads(out.read_text())
    assert result["failed"] and "nothing answers at http://127.0.0.1:9" in result["msg"], proc.stdout[-1000:]
    assert "not ready within 3 s" in result["msg"]


def test_a_refused_configuration_stops_at_once_with_every_code(tmp_path):
    errors = [{"code": "CFG-002", "message": "CFG-002: Url must start with https://"},
              {"code": "SEC-009", "message": "SEC-009: private host"}]
    result, _ = gate(tmp_path, answers(status(status="error", configuration_errors=errors)), {})
    assert result["failed"] and result["msg"].startswith("the plugin refused its configuration: CFG-002")
    assert [e["code"] for e in result["configuration_errors"]] == ["CFG-002", "SEC-009"]
    assert result["elapsed"] < 3  # a verdict, not a timeout


def test_another_plugin_version_fails(tmp_path):
    result, _ = gate(tmp_path, answers(status()), {"plugin_version": "0.3.0"})
    assert result["failed"] and "runs the plugin version 0.2.0, not the installed 0.3.0" in result["msg"]


def test_a_server_the_plugin_does_not_define_fails(tmp_path):
    result, _ = gate(tmp_path, answers(status()), {"servers": ["pacs", "archive"]})
    assert result["failed"] and result["msg"] == "the plugin does not define archive"


def test_a_server_without_a_token_yet_is_a_warning(tmp_path):
    pending = {"published": False, "last_result": "NET-001", "last_error": "provider down"}
    result, out = gate(tmp_path, answers(status({"pacs": pending})), {"servers": ["pacs"]})
    assert not result.get("failed"), result
    assert "pacs is not defined yet: no token (NET-001 provider down)" in out


def test_a_refused_new_client_secret_fails_the_gate(tmp_path):
    refused = (401, {"error": {"code": "AUTH-001", "message": "AUTH-001: invalid_client"}})
    result, _ = gate(tmp_path, answers(status(), refused),
                     {"servers": ["pacs"], "token_test": ["pacs"]})
    assert result["failed"] and "identity provider refused the credentials of pacs: AUTH-001" in result["msg"]


def test_an_open_breaker_answers_with_the_providers_last_refusal(tmp_path):
    breaker = (503, {"error": {"code": "NET-006", "message": "NET-006: circuit open"}})
    last = {"published": True, "last_result": "AUTH-002", "last_error": "unauthorized_client"}
    result, _ = gate(tmp_path, answers(status({"pacs": last}), breaker),
                     {"servers": ["pacs"], "token_test": ["pacs"]})
    assert result["failed"] and "AUTH-002 unauthorized_client" in result["msg"]


def test_a_provider_that_cannot_be_asked_is_a_warning(tmp_path):
    down = (502, {"error": {"code": "NET-001", "message": "NET-001: connection refused"}})
    result, out = gate(tmp_path, answers(status(), down),
                       {"servers": ["pacs"], "token_test": ["pacs"]})
    assert not result.get("failed"), result
    assert "no fresh token for pacs (HTTP 502 NET-001" in out and "not proven" in out
