"""The places generated from the compiler's declared inputs (plugins/plugin_utils/compiler/inputs.py):
the defaults, argument_specs options and input list of the roles that hold them, and the table of
docs/collection.md. Each is a block between two marker lines in a hand-written file."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import yaml

BEGIN, END = "BEGIN compiler inputs", "END compiler inputs"


def replace_block(text: str, body: str, path: str) -> str:
    """``text`` with the lines between its two marker lines replaced by ``body``."""
    lines = text.splitlines(keepends=True)
    begin = [i for i, line in enumerate(lines) if BEGIN in line]
    end = [i for i, line in enumerate(lines) if END in line]
    if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
        raise SystemExit(f"{path}: needs one '{BEGIN}' line and one '{END}' line after it")
    return "".join(lines[:begin[0] + 1]) + body + "".join(lines[end[0]:])


def _dump(value: dict[str, Any], indent: int) -> str:
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)
    return textwrap.indent(text, " " * indent)


def defaults(inputs: Any, owner: str) -> str:
    out = []
    for i in inputs:
        if i.owner == owner:
            out.append(textwrap.fill(i.description, 98, initial_indent="# ", subsequent_indent="# ") + "\n")
            out.append(_dump({i.name: i.default}, 0))
    return "".join(out)


def options(inputs: Any, owner: str) -> str:
    return "".join(_dump({i.name: i.spec()}, 6) for i in inputs if i.owner == owner)


def input_list(inputs: Any) -> str:
    return "".join(f'  {i.name}: "{{{{ {i.name} }}}}"\n' for i in inputs)


def table(inputs: Any) -> str:
    rows = ["| variable | type | default | role | description |", "|---|---|---|---|---|"]
    for i in inputs:
        default = json.dumps(i.default).replace("|", "\\|")
        description = i.description.replace("|", "\\|")
        rows.append(f"| `{i.name}` | {i.type} | `{default}` | {i.owner} | {description} |")
    return "\n".join(rows) + "\n"
