"""docs/configuration-reference.md from the plugin's one JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from orthanc_dicomweb_oauth.loader.config import load_schema


def _type(prop: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in prop:
        target = schema["$defs"][prop["$ref"].split("/")[-1]]
        return _type({**target, **{k: v for k, v in prop.items() if k != "$ref"}}, schema)
    if "oneOf" in prop:
        return " or ".join(_type(p, schema) for p in prop["oneOf"])
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    t = prop.get("type", "")
    if t == "array":
        return f"array of {_type(prop.get('items', {}), schema)}"
    return " or ".join(t) if isinstance(t, list) else str(t)


def _table(node: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    required = set(node.get("required", []))
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, prop in node.get("properties", {}).items():
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop and prop["default"] != {} else ""
        if key in required:
            default = "required"
        desc = prop.get("description", "")
        rows.append(f"| `{key}` | {_type(prop, schema)} | {default} | {desc} |")
    return rows


def markdown() -> str:
    s = load_schema()
    out = [
        "# DicomWebOAuth configuration reference",
        "",
        "Generated from `plugin/src/orthanc_dicomweb_oauth/loader/schema/dicomweb-oauth.schema.json` by",
        "`scripts/docs.py` (`make docs`). Every string value may use `${VAR}` (see",
        "[configuration.md](configuration.md)).",
        "",
        "## Top level (`DicomWebOAuth`)",
        "",
        *_table(s, s),
        "",
        "## Each server (`DicomWebOAuth.Servers.<name>`)",
        "",
        *_table(s["$defs"]["server"], s),
        "",
        "## `Resilience` (per server)",
        "",
        *_table(s["$defs"]["resilience"], s),
        "",
        "## `Cache`",
        "",
        *_table(s["$defs"]["cache"], s),
        "",
        "## `Proxy` (top level, and per server)",
        "",
        *_table(s["$defs"]["proxy"], s),
        "",
        "## `RateLimit`",
        "",
        *_table(s["properties"]["RateLimit"], s),
    ]
    return "\n".join(out) + "\n"

