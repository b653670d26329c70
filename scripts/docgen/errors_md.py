"""docs/errors.md from the plugin's error registry."""

from __future__ import annotations

from orthanc_dicomweb_oauth.loader.errors import ERRORS


def markdown() -> str:
    """The text of docs/errors.md."""
    lines = [
        "# Error codes",
        "",
        "Generated from `plugin/src/orthanc_dicomweb_oauth/loader/errors.py` by `scripts/docs.py` (`make docs`);",
        "`make docs-check` keeps them equal.",
        "",
        "Every error the plugin reports carries one of these codes, names the server and key",
        "it concerns, and never contains a secret or a token. Families: CFG configuration,",
        "SEC security policy, AUTH refused by the identity provider, TOK token, NET network",
        "and HTTP, INT internal. `HTTP` is the status of the plugin's REST API for that error",
        "(200 marks a warning that does not fail requests).",
        "",
        "| code | title | HTTP |",
        "|---|---|---|",
    ]
    lines += [f"| [{s.code}](#{s.code.lower()}) | {s.title} | {s.http_status} |" for s in ERRORS.values()]
    for s in ERRORS.values():
        lines += ["", f"## {s.code}", "", f"**{s.title}**", ""]
        lines += [f"- {step}" for step in s.troubleshooting]
    return "\n".join(lines) + "\n"
