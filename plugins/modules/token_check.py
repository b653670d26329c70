#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: token_check
author: dicomweb_oauth.orthanc maintainers (@dicomweb-oauth)
extends_documentation_fragment:
  - dicomweb_oauth.orthanc.orthanc_connection
version_added: "0.1.0"
short_description: Prove that each OAuth DICOMweb server of a deployed Orthanc gets a token
description:
  - Asks the deployed plugin (its C(/dicomweb-oauth/servers/{name}/test) endpoint) to acquire a
    fresh token for each configured server and reports duration, expiry, scope and audience;
    optionally runs a QIDO-RS query through Orthanc's own DICOMweb client to the remote server.
  - Waits, with a bounded number of tries, until Orthanc and the plugin answer.
  - Never returns or logs a token. Never changes anything (C(changed) is always false).
  - In check mode only the plugin's status is read (no token is requested, no query is sent).
options:
  servers:
    description: Names to check; default every server the plugin knows.
    type: list
    elements: str
  qido:
    description: Also run C(GET /studies?limit=1) on the remote server through Orthanc.
    type: bool
    default: false
  retries:
    description: Tries while Orthanc or the plugin is not ready yet.
    type: int
    default: 30
  delay:
    description: Seconds between tries.
    type: float
    default: 2
  timeout:
    description: Seconds for each HTTP request.
    type: int
    default: 60
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: Reads the status only; no token is requested.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
notes:
  - The endpoint acquires a new token from the identity provider; the plugin rate-limits it.
"""

EXAMPLES = r"""
- name: Every OAuth server gets a token, and a QIDO query reaches the remote server
  dicomweb_oauth.orthanc.token_check:
    url: https://127.0.0.1:8042
    username: admin
    password: "{{ orthanc_admin_password }}"
    qido: true
  register: oauth_check

- name: Show the expiry of each token
  ansible.builtin.debug:
    msg: "{{ item.key }} expires in {{ item.value.expires_in }} s"
  loop: "{{ oauth_check.servers | dict2items }}"
"""

RETURN = r"""
servers:
  description: Per server name, what the check found. Never a token.
  returned: always
  type: dict
  contains:
    ok:
      description: Whether the server passed.
      type: bool
    duration_ms:
      description: Time the plugin took to get a token.
      type: float
    expires_in:
      description: Seconds until the new token expires.
      type: float
    token_type:
      description: Token type, normally Bearer.
      type: str
    scope:
      description: Granted scope.
      type: str
    audience:
      description: The token's audience claim when the token is a JWT.
      type: raw
    issuer:
      description: The token's issuer claim when the token is a JWT.
      type: str
    qido_ok:
      description: Whether the QIDO query succeeded (only when I(qido=true)).
      type: bool
    error_code:
      description: The plugin's error code when the server failed.
      type: str
    error:
      description: The plugin's error message when the server failed.
      type: str
plugin_status:
  description: The plugin's overall status (C(ok), C(degraded), C(error)).
  returned: always
  type: str
attempts:
  description: Tries needed until the plugin answered.
  returned: always
  type: int
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import URLError
from ansible_collections.dicomweb_oauth.orthanc.plugins.module_utils.orthanc_http import (
    OrthancClient,
    connection_argument_spec,
)


def wait_ready(module, orthanc):
    p = module.params
    last = "no answer"
    for attempt in range(1, p["retries"] + 1):
        try:
            status, st = orthanc.call("GET", "/dicomweb-oauth/status")
            if status == 200 and isinstance(st, dict):
                servers = st.get("servers") or {}
                if st.get("status") == "error" or all(s.get("published") for s in servers.values()):
                    return attempt, st
                last = "waiting for the plugin to define its servers"
            elif status == 401:
                module.fail_json(msg="Orthanc refused the credentials (HTTP 401)", servers={}, changed=False)
            else:
                last = "HTTP %s from /dicomweb-oauth/status" % status
        except (URLError, OSError) as e:
            last = "cannot connect to %s (%s)" % (orthanc.base, getattr(e, "reason", e))
        if attempt < p["retries"]:
            time.sleep(p["delay"])
    return p["retries"], {"status": "unready", "error": last, "servers": {}}


def check_in_check_mode(s):
    """What the plugin's status says of a server, without asking for a token (check mode)."""
    return {"ok": bool(s.get("has_token") and s.get("published")),
            "expires_in": s.get("seconds_to_expiry"), "token_type": s.get("token_type"),
            "scope": s.get("scope"), "error_code": None if s.get("last_result") == "ok"
            else s.get("last_result"), "error": s.get("last_error")}


def check_server(module, orthanc, name):
    """A fresh token for ``name`` through the plugin, and a QIDO through Orthanc when asked."""
    code, answer = orthanc.call("POST", "/dicomweb-oauth/servers/%s/test" % name)
    if code == 200 and isinstance(answer, dict):
        r = {"ok": True}
        for k in ("duration_ms", "expires_in", "token_type", "scope", "audience", "issuer"):
            r[k] = answer.get(k)
    else:
        err = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
        r = {"ok": False, "error_code": err.get("code"), "error": err.get("message") or "HTTP %s" % code}
    if r["ok"] and module.params["qido"]:
        qido = {"Uri": "/studies", "Arguments": {"limit": "1"}}
        qcode, dummy = orthanc.call("POST", "/dicom-web/servers/%s/qido" % name, qido)
        r["qido_ok"] = qcode == 200
        if qcode != 200:
            r["ok"] = False
            r["error"] = "QIDO through Orthanc answered HTTP %s" % qcode
    return r


def check_servers(module, orthanc, known):
    results = {}
    for name in module.params["servers"] or sorted(known):
        if name not in known:
            results[name] = {"ok": False, "error_code": "INT-003", "error": "no such server in the plugin"}
        elif module.check_mode:
            results[name] = check_in_check_mode(known[name])
        else:
            results[name] = check_server(module, orthanc, name)
    return results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            connection_argument_spec(),
            servers=dict(type="list", elements="str"),
            qido=dict(type="bool", default=False),
            retries=dict(type="int", default=30),
            delay=dict(type="float", default=2),
            timeout=dict(type="int", default=60),
        ),
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    orthanc = OrthancClient.from_params(module.params)
    attempts, status = wait_ready(module, orthanc)
    if status.get("status") == "unready":
        module.fail_json(msg="the plugin did not become ready: %s" % status.get("error"), servers={},
                         attempts=attempts, plugin_status="unready", changed=False)
    if status.get("status") == "error":
        err = status.get("configuration_error") or {}
        module.fail_json(msg="the plugin refused its configuration: %s" % err.get("message"), servers={},
                         attempts=attempts, plugin_status="error", error_code=err.get("code"), changed=False)

    results = check_servers(module, orthanc, status.get("servers") or {})
    failed = sorted(n for n, r in results.items() if not r["ok"])
    if failed:
        detail = "; ".join("%s: %s %s" % (n, results[n].get("error_code") or "", results[n].get("error") or "")
                           for n in failed)
        module.fail_json(msg="token check failed for %s" % detail, servers=results, attempts=attempts,
                         plugin_status=status.get("status"), changed=False)
    module.exit_json(changed=False, servers=results, attempts=attempts, plugin_status=status.get("status"))


if __name__ == "__main__":
    main()
