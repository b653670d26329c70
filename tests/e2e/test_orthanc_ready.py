"""dicomweb_oauth.orthanc.orthanc_ready (the config role's deployment gate) through
ansible-playbook, against real Orthanc servers, the real plugin and the real OpenID provider.
(The systemd side, an exiting unit, is proven by the molecule failure scenario.)"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CREDENTIALS, oauth_section
from tests.helpers.collection import run_playbook

pytestmark = pytest.mark.real

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Gate
      dicomweb_oauth.orthanc.orthanc_ready:
        url: "{url}"
        username: "{user}"
        password: "{password}"
        name: "{name}"
        plugin: {plugin}
        servers: {servers}
        plugin_version: {version}
        token_test: {token_test}
        unit: ""
        timeout: {timeout}
      register: gate
      ignore_errors: true
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{{{ gate | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def gate(tmp_path: Path, url: str, name: str, plugin: bool = True, servers: tuple[str, ...] = ("remote",),
         timeout: int = 20, version: str = "", token_test: tuple[str, ...] = ()) -> tuple[dict[str, Any], str, float]:
    out = tmp_path / "gate.json"
    out.unlink(missing_ok=True)
    t0 = time.monotonic()
    proc = run_playbook(tmp_path, PLAYBOOK.format(url=url, user=CREDENTIALS[0], password=CREDENTIALS[1], name=name,
                                                  plugin=str(plugin).lower(), servers=json.dumps(list(servers)),
                                                  timeout=timeout, out=out,
                                                  version=json.dumps(version or None) if version else "null",
                                                  token_test=json.dumps(list(token_test))))
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), proc.stdout + proc.stderr, time.monotonic() - t0


def test_accepted_configuration_with_every_server_defined(tmp_path, make_source):
    src = make_source()
    result, output, _ = gate(tmp_path, src.url, src.name)
    assert not result.get("failed"), result
    assert result["servers"]["remote"]["published"] and result["plugin_status"] == "ok"
    assert result["orthanc"]["Name"] == src.name and result["changed"] is False
    assert CREDENTIALS[1] not in output


def test_refused_configuration_fails_at_once_with_the_plugins_codes(tmp_path, make_source, idp, target):
    section = oauth_section(idp, target, CaBundle="/nonexistent/ca.pem", HttpHeaders={"X-Api-Key": "k"})
    src = make_source(section)
    result, _, seconds = gate(tmp_path, src.url, src.name, timeout=60)
    assert result["failed"] and "the plugin refused its configuration" in result["msg"]
    assert sorted(e["code"] for e in result["configuration_errors"]) == ["CFG-009", "SEC-006"]
    assert seconds < 30  # not the 60 s timeout


def test_provider_down_is_a_warning_not_a_failure(tmp_path, make_source, idp):
    idp.stop()
    try:
        src = make_source()
        result, output, _ = gate(tmp_path, src.url, src.name)
    finally:
        idp.start()
    assert not result.get("failed"), result
    assert result["servers"]["remote"]["published"] is False and result["servers"]["remote"]["last_result"]
    assert "remote is not defined yet" in output


def test_another_service_on_the_port_never_passes(tmp_path, make_source, target):
    result, _, _ = gate(tmp_path, target.url, "the-orthanc-we-deployed", plugin=False, timeout=3)
    assert result["failed"] and ("not this Orthanc" in result["msg"] or "another Orthanc" in result["msg"]), result
    src = make_source()
    result, _, _ = gate(tmp_path, src.url, "the-orthanc-we-deployed", timeout=3)
    assert result["failed"] and "another Orthanc answers" in result["msg"], result


def test_nothing_listening_fails_at_the_timeout(tmp_path):
    result, _, seconds = gate(tmp_path, "http://127.0.0.1:9", "x", timeout=3)
    assert result["failed"] and "not ready within 3 s: nothing answers" in result["msg"]
    assert seconds < 30


def test_another_plugin_version_running_fails_the_gate(tmp_path, make_source):
    """Orthanc still running other plugin code than is installed (a restart lost) is a failure."""
    src = make_source()
    running = src.get("/dicomweb-oauth/status")["plugin_version"]
    result, _, seconds = gate(tmp_path, src.url, src.name, version="9.9.9-installed", timeout=60)
    assert result["failed"] and result["msg"] == f"Orthanc runs the plugin version {running}, not the installed 9.9.9-installed"
    assert seconds < 30  # at once, not at the timeout
    result, _, _ = gate(tmp_path, src.url, src.name, version=running)
    assert not result.get("failed"), result


def test_a_client_secret_the_provider_refuses_fails_the_token_test(tmp_path, make_source, idp, target):
    """token_test (after a new client secret): the provider's invalid_client fails the gate with the
    plugin's code; the right secret passes; without token_test the same refusal is only a warning."""
    refused = make_source(oauth_section(idp, target, ClientSecret="not-the-client-secret-0815"))
    result, output, _ = gate(tmp_path, refused.url, refused.name, token_test=("remote",))
    assert result["failed"] and result["msg"].startswith("the identity provider refused the credentials of remote: AUTH-001")
    assert "not-the-client-secret-0815" not in output
    result, _, _ = gate(tmp_path, refused.url, refused.name)
    assert not result.get("failed"), result
    good = make_source()
    result, output, _ = gate(tmp_path, good.url, good.name, token_test=("remote",))
    assert not result.get("failed"), result
