"""dicomweb_oauth.orthanc.token_check through ansible-playbook, against the real plugin in a
real Orthanc (and the real OpenID provider behind it)."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from tests.e2e.conftest import CREDENTIALS
from tests.helpers.collection import run_playbook
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.real
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Check tokens
      dicomweb_oauth.orthanc.token_check:
        url: "{url}"
        username: "{user}"
        password: "{password}"
        qido: {qido}
        retries: {retries}
        delay: 0.5
      register: check
      ignore_errors: true
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{{{ check | to_json }}}}"
        dest: "{out}"
        mode: "0600"
      check_mode: false
"""


def check(tmp_path, src, qido=True, retries=20, args=()):
    out = tmp_path / "check.json"
    out.unlink(missing_ok=True)
    proc = run_playbook(tmp_path, PLAYBOOK.format(url=src.url, user=CREDENTIALS[0], password=CREDENTIALS[1],
                                                  qido=str(qido).lower(), retries=retries, out=out), args=args)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), proc.stdout + proc.stderr


def test_success_waits_for_readiness_and_reports_without_token(tmp_path, make_source, target, idp):
    src = make_source(start=False)
    starter = threading.Timer(2.0, src.start)
    starter.start()
    try:
        result, output = check(tmp_path, src)
    finally:
        starter.join()
    assert not result.get("failed"), result
    assert result["changed"] is False and result["attempts"] > 1 and result["plugin_status"] == "ok"
    r = result["servers"]["remote"]
    assert r["ok"] and r["qido_ok"] and r["token_type"] == "Bearer"
    assert 0 < r["duration_ms"] < 5000 and 290 < r["expires_in"] <= 300
    assert r["scope"] == "dicom.read dicom.write" and r["audience"] == "https://dicom.test/"
    assert r["issuer"] == idp.issuer
    text = json.dumps(result) + output
    assert not JWT_RE.search(text)
    assert all(t not in text for t in target.received_tokens()) and target.received_tokens()
    assert CREDENTIALS[1] not in output


def test_unreachable_provider_fails_with_code(tmp_path, make_source, idp):
    src = make_source()
    wait_for(lambda: src.get("/dicomweb-oauth/status")["status"] == "ok", 10, what="plugin ready")
    idp.stop()
    result, _ = check(tmp_path, src, qido=False)
    assert result["failed"] and result["changed"] is False
    r = result["servers"]["remote"]
    assert not r["ok"] and r["error_code"] in ("NET-001", "NET-006")
    assert r["error_code"] in result["msg"]


def test_check_mode_reads_status_only(tmp_path, make_source, idp):
    src = make_source()
    wait_for(lambda: src.get("/dicomweb-oauth/status")["status"] == "ok", 10, what="plugin ready")
    before = idp.token_requests()
    result, _ = check(tmp_path, src, args=("--check",))
    assert not result.get("failed"), result
    assert result["changed"] is False and result["servers"]["remote"]["ok"]
    assert "qido_ok" not in result["servers"]["remote"]
    time.sleep(0.5)
    assert idp.token_requests() == before  # no token requested in check mode
