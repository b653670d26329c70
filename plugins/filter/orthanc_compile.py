# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: orthanc_compile
author: dicomweb_oauth.orthanc maintainers (@dicomweb-oauth)
version_added: "0.1.0"
short_description: Compile a host's variables into a hardened orthanc.json
description:
  - Builds Orthanc's configuration, including the C(DicomWebOAuth) section, from the C(orthanc_*)
    variables of one host; validates that section against the plugin's JSON Schema and checks the
    hardening rules of C(docs/hardening.md), applying the host's waivers.
  - Each server's C(ClientSecret) becomes a C(ClientSecretFile) under C(orthanc_secrets_directory),
    its content returned in C(secret_files) (the plugin reads the file again when it changes, so a
    rotated secret needs no restart). The other secrets are replaced by C(${VAR}) references and
    returned separately in C(environment), for a root-owned environment file. Use C(no_log) on
    tasks that handle the result.
positional: _input
options:
  _input:
    description: The host's variables, usually C(hostvars[inventory_hostname]).
    type: dict
    required: true
  host:
    description: Name used in findings; defaults to C(inventory_hostname) from the input.
    type: str
"""

EXAMPLES = r"""
- name: Compile orthanc.json
  ansible.builtin.set_fact:
    orthanc_compiled: "{{ hostvars[inventory_hostname] | dicomweb_oauth.orthanc.orthanc_compile }}"
  no_log: true

- name: Refuse an unhardened configuration
  ansible.builtin.assert:
    that: orthanc_compiled.ok
    fail_msg: "{{ orthanc_compiled.findings | map(attribute='line') | list }}"
"""

RETURN = r"""
_value:
  description: The compilation result.
  type: dict
  contains:
    ok:
      description: True when there is no finding left after waivers.
      type: bool
    config:
      description: The configuration, with C(${VAR}) in place of every secret.
      type: dict
    rendered:
      description: The configuration as deterministic JSON text (sorted keys).
      type: str
    environment:
      description: Secret values by variable name; for the service's environment file only.
      type: dict
    environment_file:
      description: The environment file text (C(NAME="value") lines).
      type: str
    secret_files:
      description: The client secrets as files to write on the host, each with C(path) and C(content). Secret.
      type: list
      elements: dict
    findings:
      description: Each finding with rule, severity, host, path, message, fix and line.
      type: list
      elements: dict
    waived:
      description: Findings waived by the host, with the waiver's reason.
      type: list
      elements: dict
    warnings:
      description: Notes that do not fail, e.g. a key of the older plugin loaded under its new name.
      type: list
      elements: str
    provider_checks:
      description: For the reachability preflight, each identity provider endpoint with its server's TLS
        settings and route (C(environment) with the proxy's address or no_proxy, C(headers) with the proxy's
        credentials). Secret.
      type: list
      elements: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.dicomweb_oauth.orthanc.plugins.plugin_utils.compiler import (
    compile_host,
    plain,
    provider_checks,
    render_environment,
)
from ansible_collections.dicomweb_oauth.orthanc.plugins.plugin_utils.rules import RULES_BY_ID


def orthanc_compile(hostvars, host=None):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("orthanc_compile expects the host's variables as a mapping")
    name = host or str(hostvars.get("inventory_hostname", "localhost"))
    # Only the compiler's own variables are read (and templated: Vault lookups run here).
    variables = dict((str(k), plain(hostvars[k])) for k in hostvars if str(k).startswith("orthanc_"))
    result = compile_host(name, variables)
    return {
        "ok": result.ok,
        "config": result.config,
        "rendered": result.rendered,
        "environment": result.environment,
        "environment_file": render_environment(result.environment),
        "secret_files": [{"path": p, "content": c} for p, c in sorted(result.secret_files.items())],
        "findings": [dict(f.as_dict(), line=f.line()) for f in result.findings],
        "waived": result.waived,
        "warnings": result.warnings,
        "provider_checks": provider_checks(result.config, result.environment),
    }


def orthanc_rule_findings(settings, rule_id):
    """One hardening rule of the compiler on some of Orthanc's settings, for a role that must refuse
    them before the config role compiles (one judge): a list of 'RULE path: message. Fix: ...'."""
    if rule_id not in RULES_BY_ID:
        raise AnsibleFilterError("orthanc_rule_findings: %s is not a rule id" % rule_id)
    rule = RULES_BY_ID[rule_id]
    return ["%s %s: %s. Fix: %s" % (rule.id, path, message, rule.fix)
            for path, message in rule.check(plain(settings), {})]


class FilterModule(object):
    def filters(self):
        return {"orthanc_compile": orthanc_compile, "orthanc_rule_findings": orthanc_rule_findings}
