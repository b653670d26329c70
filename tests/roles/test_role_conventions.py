"""The conventions users of Ansible collections rely on, for every role: phases imported with
tags (a preflight that always runs), registered facts named _<role>_..., the shared role as a
dependency, and no task that both runs in check mode and is skipped in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.collection import ROOT

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.name != "common")


def tasks_of(data: Any) -> list[dict[str, Any]]:
    out = []
    for t in data or []:
        out.append(t)
        for key in ("block", "rescue", "always"):
            out += tasks_of(t.get(key))
    return out


def role_tasks(role: str) -> list[dict[str, Any]]:
    return [t for f in sorted((ROOT / "roles" / role / "tasks").glob("*.yml"))
            for t in tasks_of(yaml.safe_load(f.read_text()))]


@pytest.mark.parametrize("role", ROLES)
def test_main_imports_one_file_per_phase_with_its_tags(role):
    main = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    assert all(set(t) == {"name", "ansible.builtin.import_tasks", "tags"} for t in main), main
    phases = [Path(t["ansible.builtin.import_tasks"]).stem for t in main]
    assert phases[0] == "preflight" and "always" in main[0]["tags"]
    assert all(role in t["tags"] for t in main)
    for t, phase in zip(main, phases):
        assert {phase, f"{role}_{phase}"} <= set(t["tags"]), t
        assert (ROOT / "roles" / role / "tasks" / f"{phase}.yml").is_file()


@pytest.mark.parametrize("role", [*ROLES, "common"])
def test_registered_facts_carry_the_role_prefix(role):
    names = [t["register"] for t in role_tasks(role) if "register" in t]
    names += [k for t in role_tasks(role) for k in (t.get("ansible.builtin.set_fact") or {})]
    assert all(n.startswith(f"_{role}_") for n in names), names


@pytest.mark.parametrize("role", ROLES)
def test_every_role_depends_on_the_shared_role(role):
    meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
    assert {"role": "dicomweb_oauth.orthanc.common"} in meta["dependencies"]


@pytest.mark.parametrize("role", [*ROLES, "common"])
def test_no_task_runs_in_check_mode_and_is_skipped_in_it(role):
    both = [t.get("name") for t in role_tasks(role)
            if t.get("check_mode") is False and "not ansible_check_mode" in str(t.get("when", ""))]
    assert both == []
