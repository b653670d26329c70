"""roles/<role>/README.md from roles/<role>/meta/argument_specs.yml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import yaml


def readme(role: Path, spec_text: Optional[str] = None) -> str:
    """The README of ``role``, from its argument_specs (``spec_text`` when given: the spec as it is
    about to be written)."""
    text = spec_text if spec_text is not None else (role / "meta" / "argument_specs.yml").read_text()
    spec = yaml.safe_load(text)["argument_specs"]["main"]
    out = [f"# Role `dicomweb_oauth.orthanc.{role.name}`", "", spec["short_description"], ""]
    out += [" ".join(spec.get("description", [])), "",
            "Generated from `meta/argument_specs.yml` by `scripts/docs.py` (`make docs`); `make docs-check`",
            "keeps it in sync with the spec, and a test with `defaults/main.yml`.", "",
            "| variable | type | default | description |", "|---|---|---|---|"]
    for name, opt in spec["options"].items():
        default = json.dumps(opt.get("default")) if "default" in opt else ""
        secret = " Secret (no_log)." if opt.get("no_log") else ""
        description = " ".join(opt["description"]) if isinstance(opt["description"], list) else opt["description"]
        cells = [f"`{name}`", opt["type"], f"`{default}`", f"{description}{secret}"]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out + tags(role)) + "\n"


def tags(role: Path) -> list[str]:
    """The role's phases (tasks/main.yml imports one file per phase) and their tags."""
    main = role / "tasks" / "main.yml"
    phases = yaml.safe_load(main.read_text()) if main.exists() else None
    if not phases or not all("ansible.builtin.import_tasks" in t for t in phases):
        return []
    phased = any(tag.startswith(f"{role.name}_") for t in phases for tag in t.get("tags", []))
    how = (f"`--tags {role.name}_<phase>` (or `<phase>` for every role) runs one phase, `--tags {role.name}` "
           "every phase of this role; the preflights always run." if phased else
           "Its tasks are tagged `always`: they run whatever `--tags` a run selects.")
    out = ["", "## Tags", "", how, "", "| phase | file | tags |", "|---|---|---|"]
    for t in phases:
        out.append(f"| {t['name']} | `tasks/{t['ansible.builtin.import_tasks']}` | "
                   + ", ".join(f"`{tag}`" for tag in t.get("tags", [])) + " |")
    return out
