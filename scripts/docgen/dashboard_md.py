"""The panel list of docs/monitoring.md, from the monitoring role's dashboard JSON."""

from __future__ import annotations

import json
from pathlib import Path

DASHBOARD = Path("roles") / "monitoring" / "files" / "dicomweb-oauth-dashboard.json"
START, END = "<!-- panels:start (scripts/docs.py) -->", "<!-- panels:end -->"


def panel_table(root: Path) -> str:
    dash = json.loads((root / DASHBOARD).read_text())
    rows = [f"Dashboard **{dash['title']}** (uid `{dash['uid']}`), variable `$orthanc_node` (all nodes by default).",
            "", "| panel | type | unit | what it shows | queries |", "|---|---|---|---|---|"]
    for p in dash["panels"]:
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        queries = "<br>".join(f"`{t['expr'].replace('|', chr(92) + '|')}`" for t in p.get("targets", []))
        rows.append(f"| {p['title']} | {p['type']} | {unit} | {p.get('description', '')} | {queries} |")
    return "\n".join(rows)


def render(root: Path, doc: str) -> str:
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{panel_table(root)}\n{END}{tail}"
