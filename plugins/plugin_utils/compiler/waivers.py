# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening rules on a compiled configuration, and the host's written waivers."""

from __future__ import annotations

from typing import Any

from ..rules import RETIRED_RULES, RULES, RULES_BY_ID
from .findings import Finding
from .inputs import Inputs


def waivers(inp: Inputs) -> dict[str, str]:
    waivers = inp.v["orthanc_hardening_waivers"] or []
    if not isinstance(waivers, list):
        inp.bad("orthanc_hardening_waivers", "must be a list of {id, reason}", "See docs/hardening.md.")
        return {}
    out = {}
    for i, w in enumerate(waivers):
        wid = w.get("id") if isinstance(w, dict) else None
        reason = w.get("reason") if isinstance(w, dict) else None
        where = f"orthanc_hardening_waivers[{i}]"
        if isinstance(wid, str) and wid in RETIRED_RULES:
            inp.bad(where, f"{wid} is retired: {RETIRED_RULES[wid]}", "Remove this waiver.")
        elif not isinstance(wid, str) or wid not in RULES_BY_ID:
            inp.bad(where, "id is not a known rule id", "Use an id from docs/hardening.md.")
        elif not RULES_BY_ID[wid].waivable:
            inp.bad(where, f"{wid} cannot be waived: {RULES_BY_ID[wid].rationale}", RULES_BY_ID[wid].fix)
        elif not isinstance(reason, str) or len(reason.strip()) < 10:
            inp.bad(where, f"waiver of {wid} has no written reason",
                    "Add reason: with why this host may break the rule.")
        else:
            out[wid] = reason.strip()
    return out


def apply_rules(inp: Inputs, cfg: dict[str, Any], ctx: dict[str, Any]) -> tuple[list[Finding], list[dict[str, str]]]:
    waived_ids = waivers(inp)
    findings, waived = [], []
    for rule in RULES:
        for path, message in rule.check(cfg, ctx):
            if rule.id in waived_ids and rule.waivable:
                waived.append({"rule": rule.id, "path": path, "reason": waived_ids[rule.id], "host": inp.host})
            else:
                findings.append(Finding(rule.id, rule.severity, inp.host, path, message, rule.fix))
    return findings, waived
