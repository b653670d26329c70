#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: orthanc_ready
author: dicomweb_oauth.orthanc maintainers (@dicomweb-oauth)
extends_documentation_fragment:
  - dicomweb_oauth.orthanc.orthanc_connection
version_added: "0.1.0"
short_description: Wait until Orthanc serves its configuration and the OAuth plugin accepted it
description:
  - The deployment gate of the C(config) role. Succeeds when Orthanc answers on its port as
    itself (C(/system) with the expected C(Name), not merely any HTTP answer), and, when the
    OAuth plugin is configured, when the plugin reports that it accepted its configuration and
    defines every expected server.
  - A configuration the plugin refused fails at once with the plugin's error codes and messages.
    A server whose identity provider cannot be reached yet is a warning, not a failure (the
    configuration is good and the plugin defines the server with its first token).
  - Watches the systemd unit while it waits, so that an Orthanc that exits (a port taken, a
    configuration Orthanc cannot parse) fails the task within a second instead of at the timeout.
  - Changes nothing (C(changed) is always false); runs the same read-only checks in check mode.
options:
  name:
    description: The C(Name) Orthanc must report in C(/system); another service on the port never passes.
    type: str
  plugin:
    description: Whether the OAuth plugin is configured (orthanc.json has a C(DicomWebOAuth) section).
    type: bool
    default: false
  servers:
    description: The server names the plugin must define.
    type: list
    elements: str
    default: []
  plugin_version:
    description:
      - The plugin version that must be running (the installed one). Another version in the
        plugin's status means Orthanc still runs other code than is installed, and fails the gate.
    type: str
  token_test:
    description:
      - Servers for which the plugin must get a fresh token now (C(POST .../test)), for example
        after a new client secret. An identity provider that refuses the credentials
        (C(AUTH-) codes) fails the gate; one that cannot be reached is a warning.
    type: list
    elements: str
    default: []
  unit:
    description: Orthanc's systemd unit, watched while waiting; an empty string does not watch.
    type: str
    default: orthanc
  timeout:
    description: Seconds to wait in all.
    type: int
    default: 60
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The same read-only checks.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
notes:
  - The plugin's status endpoint is behind Orthanc's authentication, so I(username) is needed
    whenever authentication is on.
"""

EXAMPLES = r"""
- name: Orthanc serves the new configuration and the plugin accepted it
  dicomweb_oauth.orthanc.orthanc_ready:
    url: http://127.0.0.1:8042
    username: admin
    password: "{{ orthanc_admin_password }}"
    name: pacs-gateway-1
    plugin: true
    servers: [azure-dicom]
    timeout: 60
"""

RETURN = r"""
orthanc:
  description: What C(/system) answered (C(Name), C(Version)).
  returned: success
  type: dict
plugin_status:
  description: The plugin's overall status (C(ok), C(degraded)); absent without the plugin.
  returned: success
  type: str
servers:
  description: Per expected server, whether it is defined (C(published)) and its last token result.
  returned: always
  type: dict
configuration_errors:
  description: The plugin's refusals (code and message), when it refused its configuration.
  returned: failure
  type: list
  elements: dict
elapsed:
  description: Seconds waited.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import URLError
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible_collections.dicomweb_oauth.orthanc.plugins.module_utils.orthanc_http import (
    OrthancClient,
    connection_argument_spec,
)

UNIT_PROPERTIES = ("ActiveState", "SubState", "MainPID", "NRestarts", "Result")


class Stop(Exception):
    """A verdict that waiting longer cannot change."""

    def __init__(self, msg, **extra):
        super(Stop, self).__init__(msg)
        self.extra = extra


class UnitWatch(object):
    """Orthanc's systemd unit: the first state seen is the baseline, any exit after it fails."""

    def __init__(self, module, unit):
        self.module = module
        self.unit = unit
        self.first = None

    def state(self):
        args = ["systemctl", "show", self.unit] + ["--property=%s" % p for p in UNIT_PROPERTIES]
        rc, out, dummy = self.module.run_command(args)
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line) if rc == 0 else {}

    def check(self):
        if not self.unit:
            return
        s = self.state()
        if self.first is None:
            self.first = s
        restarted = s.get("NRestarts") != self.first.get("NRestarts") or (
            s.get("MainPID") not in ("0", self.first.get("MainPID")) and self.first.get("MainPID") != "0")
        if s.get("ActiveState") in ("failed", "inactive") or s.get("SubState") == "auto-restart" or restarted:
            # Debian's Orthanc logs to files (--logdir), not to the journal.
            raise Stop("Orthanc exited (unit %s: %s/%s, result %s); see its log in /var/log/orthanc/ and "
                       "systemctl status %s" % (self.unit, s.get("ActiveState"), s.get("SubState"), s.get("Result"),
                                                self.unit))


def orthanc_answer(client, name):
    """None when Orthanc itself answers, else why not (to report at the timeout)."""
    try:
        status, body = client.call("GET", "/system")
    except (URLError, OSError) as e:
        return "nothing answers at %s (%s)" % (client.base, getattr(e, "reason", e))
    if status == 200 and isinstance(body, dict) and "Version" in body and (not name or body.get("Name") == name):
        return None
    if status == 200 and isinstance(body, dict) and "Version" in body:
        return "another Orthanc answers at %s (Name %r, expected %r)" % (client.base, body.get("Name"), name)
    if status == 401:
        return "%s refused the credentials (HTTP 401): not this Orthanc, or not its user" % client.base
    return "something that is not Orthanc answers at %s (HTTP %s)" % (client.base, status)


def plugin_verdict(client, expected, expected_version=None):
    """(servers, warnings) once the plugin has decided; None while it is still starting."""
    status, st = client.call("GET", "/dicomweb-oauth/status")
    if status != 200 or not isinstance(st, dict):
        return None
    if st.get("status") == "error":
        errors = st.get("configuration_errors") or [st.get("configuration_error") or {}]
        raise Stop("the plugin refused its configuration: %s" % "; ".join(e.get("message", "") for e in errors),
                   configuration_errors=[{"code": e.get("code"), "message": e.get("message")} for e in errors])
    running = st.get("plugin_version")
    if expected_version and running != expected_version:
        raise Stop("Orthanc runs the plugin version %s, not the installed %s" % (running, expected_version))
    known = st.get("servers") or {}
    missing = sorted(set(expected) - set(known))
    if missing:
        raise Stop("the plugin does not define %s" % ", ".join(missing))
    servers = dict((n, {"published": bool(s.get("published")), "last_result": s.get("last_result"),
                        "last_error": s.get("last_error")}) for n, s in known.items() if n in expected)
    if any(not s["published"] and s["last_result"] is None for s in servers.values()):
        return None  # a first token request is still under way
    warnings = ["%s is not defined yet: no token (%s %s); the plugin defines it with its first token"
                % (n, s["last_result"], s["last_error"] or "") for n, s in sorted(servers.items())
                if not s["published"]]
    return servers, warnings, st.get("status")


def token_tests(client, names):
    """Warnings for the servers whose provider could not be asked; Stop when one refused."""
    warnings = []
    for name in names:
        status, answer = client.call("POST", "/dicomweb-oauth/servers/%s/test" % quote(name, safe=""))
        if status == 200:
            continue
        error = (answer.get("error") if isinstance(answer, dict) else None) or {}
        code, message = error.get("code") or "", error.get("message") or ""
        if not code.startswith("AUTH-"):
            # An open breaker (NET-006) answers for the provider: its last answer says why it opened.
            dummy, st = client.call("GET", "/dicomweb-oauth/status")
            last = ((st.get("servers") or {}).get(name) or {}) if isinstance(st, dict) else {}
            if str(last.get("last_result") or "").startswith("AUTH-"):
                code, message = last["last_result"], last.get("last_error") or message
        if code.startswith("AUTH-"):
            raise Stop("the identity provider refused the credentials of %s: %s %s" % (name, code, message))
        warnings.append("no fresh token for %s (HTTP %s %s %s); the credentials are not proven"
                        % (name, status, code, message))
    return warnings


def wait(module, client):
    p = module.params
    unit = UnitWatch(module, p["unit"])
    deadline = time.time() + p["timeout"]
    while True:
        unit.check()
        why = orthanc_answer(client, p["name"])
        if why is None:
            if not p["plugin"]:
                return {"servers": {}, "warnings": []}
            verdict = plugin_verdict(client, p["servers"], p["plugin_version"])
            if verdict is not None:
                warnings = verdict[1] + token_tests(client, p["token_test"])
                return {"servers": verdict[0], "warnings": warnings, "plugin_status": verdict[2]}
            why = "the plugin has not decided yet (GET /dicomweb-oauth/status)"
        if time.time() >= deadline:
            raise Stop("Orthanc was not ready within %s s: %s" % (p["timeout"], why))
        time.sleep(1)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            connection_argument_spec(),
            name=dict(type="str"),
            plugin=dict(type="bool", default=False),
            servers=dict(type="list", elements="str", default=[]),
            unit=dict(type="str", default="orthanc"),
            timeout=dict(type="int", default=60),
            plugin_version=dict(type="str"),
            token_test=dict(type="list", elements="str", default=[], no_log=False),
        ),
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    p = module.params
    client = OrthancClient(p["url"], p["username"], p["password"], p["validate_certs"], p["ca_path"], timeout=10)
    start = time.time()
    try:
        result = wait(module, client)
    except Stop as e:
        module.fail_json(msg=str(e), changed=False, servers={}, elapsed=round(time.time() - start, 1), **e.extra)
    dummy, system = client.call("GET", "/system")
    for w in result.pop("warnings"):
        module.warn(w)
    module.exit_json(changed=False, elapsed=round(time.time() - start, 1),
                     orthanc={"Name": system.get("Name"), "Version": system.get("Version")}, **result)


if __name__ == "__main__":
    main()
