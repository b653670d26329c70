"""roles/<role>/README.md from roles/<role>/meta/argument_specs.yml (python3 scripts/role_docs.py
writes them all; --check exits 1 if one is stale). tests/roles/test_role_specs.py also checks
that every role's defaults/main.yml and argument_specs agree."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def readme(role: Path) -> str:
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    out = [f"# Role `dicomweb_oauth.orthanc.{role.name}`", "", spec["short_description"], ""]
    out += [" ".join(spec.get("description", [])), "",
            "Generated from `meta/argument_specs.yml` by `scripts/role_docs.py`; a test keeps it in sync with",
            "the spec and with `defaults/main.yml`.", "",
            "| variable | type | default | description |", "|---|---|---|---|"]
    for name, opt in spec["options"].items():
        default = json.dumps(opt.get("default")) if "default" in opt else ""
        secret = " Secret (no_log)." if opt.get("no_log") else ""
        out.append(f"| `{name}` | {opt['type']} | `{default}` | {opt['description']}{secret} |")
    return "\n".join(out) + "\n"


def main() -> int:
    stale = []
    for role in sorted((ROOT / "roles").iterdir()):
        text = readme(role)
        path = role / "README.md"
        if "--check" in sys.argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
    if stale:
        print("stale: " + ", ".join(stale) + " (run python3 scripts/role_docs.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
