"""The panel list of docs/monitoring.md, generated from the monitoring role's dashboard JSON
(python3 scripts/dashboard_docs.py rewrites the block between the markers; --check exits 1 if
it is stale)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "roles" / "monitoring" / "files" / "dicomweb-oauth-dashboard.json"
DOC = ROOT / "docs" / "monitoring.md"
START, END = "<!-- panels:start (scripts/dashboard_docs.py) -->", "<!-- panels:end -->"


def panel_table() -> str:
    dash = json.loads(DASHBOARD.read_text())
    rows = [f"Dashboard **{dash['title']}** (uid `{dash['uid']}`), variable `$orthanc_node` (all nodes by default).",
            "", "| panel | type | unit | what it shows | queries |", "|---|---|---|---|---|"]
    for p in dash["panels"]:
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        queries = "<br>".join(f"`{t['expr'].replace('|', chr(92) + '|')}`" for t in p.get("targets", []))
        rows.append(f"| {p['title']} | {p['type']} | {unit} | {p.get('description', '')} | {queries} |")
    return "\n".join(rows)


def render(doc: str) -> str:
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{panel_table()}\n{END}{tail}"


def main() -> int:
    doc = DOC.read_text()
    new = render(doc)
    if "--check" in sys.argv[1:]:
        if new != doc:
            print(f"{DOC.relative_to(ROOT)} is stale: run python3 scripts/dashboard_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
