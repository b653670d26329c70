"""token_check's decisions against a loopback stand-in for the plugin's REST API (the real
plugin in a real Orthanc is in tests/e2e/test_token_check.py)."""

from __future__ import annotations

import base64
import json

from tests.helpers.collection import run_playbook
from tests.helpers.fake_http import FakeServer, Request

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Check
      dicomweb_oauth.orthanc.token_check:
        url: "{url}"
        username: admin
        password: module-test-password-1
        servers: {servers}
        retries: 2
        delay: 0.1
      register: check
      ignore_errors: true
    - name: Keep
      ansible.builtin.copy:
        content: "{{{{ check | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def run(tmp_path, handler, servers=None):
    out = tmp_path / "r.json"
    with FakeServer(handler) as fake:
        proc = run_playbook(tmp_path, PLAYBOOK.format(url=fake.url, servers=json.dumps(servers), out=out))
        requests = list(fake.requests)
    assert out.exists(), proc.stdout[-2000:]
    return json.loads(out.read_text()), requests, proc.stdout + proc.stderr


OK_STATUS = {"status": "ok", "servers": {"pacs": {"published": True, "has_token": True, "last_result": "ok"}}}


def test_basic_auth_sent_and_401_is_reported(tmp_path):
    def handler(req: Request):
        assert req.headers["authorization"] == "Basic " + base64.b64encode(b"admin:module-test-password-1").decode()
        return 401, {}

    result, _, out = run(tmp_path, handler)
    assert result["failed"] and "refused the credentials" in result["msg"] and result["changed"] is False
    assert "module-test-password-1" not in out


def test_refused_configuration_fails_with_its_code(tmp_path):
    status = {"status": "error", "servers": {},
              "configuration_error": {"code": "SEC-002", "message": "SEC-002: ServersInDatabase"}}
    result, _, _ = run(tmp_path, lambda req: (200, status))
    assert result["failed"] and result["error_code"] == "SEC-002" and "refused its configuration" in result["msg"]


def test_unknown_server_and_failed_test(tmp_path):
    def handler(req: Request):
        if req.path == "/dicomweb-oauth/status":
            return 200, OK_STATUS
        assert req.method == "POST" and req.path == "/dicomweb-oauth/servers/pacs/test"
        return 502, {"error": {"code": "AUTH-001", "message": "AUTH-001 (server 'pacs'): invalid_client"}}

    result, _, _ = run(tmp_path, handler, servers=["pacs", "ghost"])
    assert result["failed"] and result["changed"] is False
    assert result["servers"]["ghost"] == {"ok": False, "error_code": "INT-003", "error": "no such server in the plugin"}
    assert result["servers"]["pacs"]["error_code"] == "AUTH-001"
    assert "pacs: AUTH-001" in result["msg"] and "ghost: INT-003" in result["msg"]


def test_waits_until_servers_are_defined(tmp_path):
    calls = {"n": 0}

    def handler(req: Request):
        if req.path == "/dicomweb-oauth/status":
            calls["n"] += 1
            pending = {"status": "degraded", "servers": {"pacs": {"published": False}}}
            return 200, OK_STATUS if calls["n"] >= 2 else pending
        return 200, {"ok": True, "duration_ms": 3.0, "expires_in": 299.0, "token_type": "Bearer",
                     "scope": "s", "audience": "a", "issuer": "i", "token": "must-not-be-returned"}

    result, _, _ = run(tmp_path, handler)
    assert not result.get("failed") and result["attempts"] == 2
    assert result["servers"]["pacs"] == {"ok": True, "duration_ms": 3.0, "expires_in": 299.0, "token_type": "Bearer",
                                         "scope": "s", "audience": "a", "issuer": "i"}
