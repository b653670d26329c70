"""The monitoring role's Prometheus files, rendered by Ansible's own template module from the
role's templates, defaults and vars, into a directory of the test's (nothing under /etc)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from tests.helpers.collection import ROOT, run_playbook

ROLE = ROOT / "roles" / "monitoring"
DASHBOARD = ROLE / "files" / "dicomweb-oauth-dashboard.json"

PLAYBOOK = f"""
- name: Render the monitoring role's Prometheus files
  hosts: localhost
  gather_facts: false
  vars_files:
    - {ROLE}/defaults/main.yml
    - {ROLE}/vars/main.yml
  tasks:
    - name: Directories
      ansible.builtin.file:
        path: "{{{{ item }}}}"
        state: directory
        mode: "0700"
      loop: ["{{{{ _monitoring_rules_dir }}}}", "{{{{ _monitoring_secrets_dir }}}}"]
    - name: Scrape passwords
      ansible.builtin.copy:
        content: "{{{{ item.password }}}}"
        dest: "{{{{ _monitoring_secrets_dir }}}}/{{{{ item.name }}}}.password"
        mode: "0600"
      loop: "{{{{ monitoring_orthanc_targets }}}}"
      no_log: true
    - name: Rules, checked by promtool as the role does
      ansible.builtin.template:
        src: {ROLE}/templates/dicomweb-oauth.rules.yml.j2
        dest: "{{{{ _monitoring_rules_dir }}}}/dicomweb-oauth.rules.yml"
        mode: "0644"
        validate: promtool check rules %s
    - name: Prometheus configuration, checked by promtool as the role does
      ansible.builtin.template:
        src: {ROLE}/templates/prometheus.yml.j2
        dest: "{{{{ _monitoring_prometheus_config }}}}"
        mode: "0644"
        validate: promtool check config %s
"""


def render_monitoring(tmp: Path, overrides: Optional[dict[str, Any]] = None) -> Path:
    """Render into tmp/prometheus; returns the prometheus.yml path (rules in rules.d/ beside it)."""
    out = tmp / "prometheus"
    out.mkdir(parents=True, exist_ok=True)
    extra = {
        "_monitoring_prometheus_config": str(out / "prometheus.yml"),
        "_monitoring_rules_dir": str(out / "rules.d"),
        "_monitoring_secrets_dir": str(out / "secrets"),
        **(overrides or {}),
    }
    vars_file = tmp / "monitoring-vars.json"
    vars_file.write_text(json.dumps(extra))
    vars_file.chmod(0o600)
    proc = run_playbook(tmp, PLAYBOOK, args=("-e", f"@{vars_file}"))
    if proc.returncode != 0:
        raise AssertionError(proc.stdout[-4000:] + proc.stderr[-2000:])
    return out / "prometheus.yml"


def dashboard_queries(node: str = ".*") -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of the dashboard, with $orthanc_node set to node."""
    dash = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"].replace("$orthanc_node", node))
            for p in dash["panels"] for t in p.get("targets", [])]
