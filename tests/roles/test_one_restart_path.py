"""One restart path (SPEC 4.3): no task or handler of the collection starts, restarts or reloads
Orthanc's unit except the config role's restart and its rollback, which its gate follows. Every
other role leaves a difference that the config role's state record sees (module orthanc_state)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.collection import ROOT

SERVICE_MODULES = {"systemd_service", "systemd", "service", "sysvinit"}
# The config role's one restart and its rollback's restart: the only places allowed.
ALLOWED = {("roles/config/tasks/restart.yml", "Restart Orthanc (the one restart of a run)"),
           ("roles/config/tasks/restart.yml", "Restart Orthanc with the last good state")}
COMMAND_RESTART = re.compile(r"\b(systemctl|service)\b[^\n]*\b(start|restart|reload|try-restart|reload-or-restart)\b"
                             r"[^\n]*\borthanc(\.service)?\b(?![-\w])|\borthanc\b[^\n]*\b(restart|start)\b")


def tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always", "tasks", "handlers", "pre_tasks", "post_tasks"):
            yield from tasks(node.get(key))


def module_of(task: dict[str, Any]) -> tuple[str, Any]:
    for key, args in task.items():
        short = key.rsplit(".", 1)[-1]
        if short in SERVICE_MODULES | {"command", "shell", "raw"}:
            return short, args
    return "", None


def restarts_orthanc(task: dict[str, Any]) -> bool:
    short, args = module_of(task)
    if short in SERVICE_MODULES and isinstance(args, dict):
        return str(args.get("name", "")) in ("orthanc", "orthanc.service") and \
            str(args.get("state", "")) in ("started", "restarted", "reloaded")
    if short in ("command", "shell", "raw"):
        text = args if isinstance(args, str) else " ".join(map(str, (args or {}).get("argv", []))) or \
            str((args or {}).get("cmd", ""))
        return bool(COMMAND_RESTART.search(text))
    return False


def collection_yaml() -> list[Path]:
    files = [ROOT / "site.yml", *sorted((ROOT / "playbooks").glob("*.yml"))]
    return files + sorted(p for p in (ROOT / "roles").rglob("*.yml") if p.parent.name in ("tasks", "handlers"))


def test_only_the_config_role_restarts_orthanc():
    found = []
    for path in collection_yaml():
        for task in tasks(yaml.safe_load(path.read_text())):
            if restarts_orthanc(task):
                found.append((str(path.relative_to(ROOT)), task.get("name", "")))
    assert sorted(found) == sorted(ALLOWED), found


def test_the_scan_sees_every_way_to_restart():
    """The check above must be able to fail: each form a role could use is found."""
    forms = [{"ansible.builtin.systemd_service": {"name": "orthanc", "state": "restarted"}},
             {"ansible.builtin.service": {"name": "orthanc", "state": "started"}},
             {"systemd": {"name": "orthanc.service", "state": "reloaded"}},
             {"ansible.builtin.command": "systemctl restart orthanc"},
             {"ansible.builtin.command": {"argv": ["systemctl", "try-restart", "orthanc.service"]}},
             {"ansible.builtin.shell": {"cmd": "service orthanc restart"}},
             {"block": [{"rescue": [], "ansible.builtin.systemd_service": {"name": "orthanc", "state": "restarted"}}]}]
    assert all(any(restarts_orthanc(t) for t in tasks(form)) for form in forms)
    harmless = [{"ansible.builtin.systemd_service": {"name": "orthanc", "enabled": True}},
                {"ansible.builtin.systemd_service": {"name": "orthanc-demo-target", "state": "restarted"}},
                {"ansible.builtin.command": "systemctl reset-failed orthanc"},
                {"ansible.builtin.command": "systemctl show orthanc --property=ActiveState"}]
    assert not any(restarts_orthanc(t) for form in harmless for t in tasks(form))
