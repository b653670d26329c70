# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline lint and compile of a whole inventory, for the CI of users' inventories.

Resolves each host's variables the way Ansible does (inventory files, group_vars and host_vars,
group depth and precedence), compiles every host that defines Orthanc variables, and exits
non-zero with every finding. Values that are still Jinja templates (Vault lookups, for example)
are left as they are: secrets are moved to the environment anyway, and nothing is fetched."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any, Optional

from .compiler import Finding, Result, compile_host, plain
from .rules import markdown


def resolve_inventory(sources: list[str], limit: Optional[str] = None) -> dict[str, dict[str, Any]]:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=sources)
    if limit:
        inventory.subset(limit)
    variables = VariableManager(loader=loader, inventory=inventory)
    out = {}
    for host in inventory.get_hosts():
        hv = variables.get_vars(host=host, include_hostvars=False)
        out[host.name] = {k: plain(v) for k, v in hv.items() if k.startswith("orthanc_")}
    return out


SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,200}$")


def write_outputs(results: list[Result], output_dir: str) -> list[Finding]:
    """Each clean host's orthanc.json (no secrets) into ``output_dir``. A refused host gets no file
    (and loses one an earlier run wrote): what made it refused may be a secret where it does not
    belong (a password in a URL, a secret that is not a string). A host whose name cannot be a
    file name there (``a/b``, ``../x``) is a finding and writes nothing."""
    os.makedirs(output_dir, exist_ok=True)
    refused = []
    for r in results:
        if not SAFE_FILE_NAME.match(r.host) or ".." in r.host:
            refused.append(Finding("INPUT", "high", r.host, "inventory_hostname", "the host name cannot be a file "
                                   "name in --output-dir; nothing was written for it",
                                   "Use letters, digits, '.', '_', '@' and '-' in host names."))
            continue
        path = os.path.join(output_dir, f"{r.host}.orthanc.json")
        if r.ok and r.rendered:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(r.rendered)
        elif os.path.exists(path):
            os.remove(path)
    return refused


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="orthanc-config-lint", description=__doc__)
    p.add_argument("-i", "--inventory", action="append", default=[], help="inventory source (repeatable)")
    p.add_argument("-l", "--limit", help="host pattern")
    p.add_argument("--output-dir", help="write each clean host's orthanc.json (no secrets) there")
    p.add_argument("--json", action="store_true", help="print findings as JSON")
    p.add_argument("--rules-markdown", action="store_true", help="print docs/hardening.md and exit")
    args = p.parse_args(argv)
    if args.rules_markdown:
        sys.stdout.write(markdown())
        return 0
    if not args.inventory:
        p.error("give at least one -i INVENTORY")
    t0 = time.perf_counter()
    hosts = resolve_inventory(args.inventory, args.limit)
    # Hosts without any orthanc_* variable are not Orthanc hosts.
    results = [compile_host(h, hv) for h, hv in sorted(hosts.items()) if hv]
    findings = [f for r in results for f in r.findings]
    waived = [w for r in results for w in r.waived]
    warnings = [f"{r.host}: {w}" for r in results for w in r.warnings]
    if args.output_dir:
        findings += write_outputs(results, args.output_dir)
    elapsed = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"hosts": len(results), "findings": [f.as_dict() for f in findings],
                          "waived": waived, "warnings": warnings, "seconds": round(elapsed, 3)},
                         indent=2, sort_keys=True))
    else:
        for f in findings:
            print(f.line())
        for w in waived:
            print(f"{w['host']}: waived {w['rule']} {w['path']}: {w['reason']}")
        for line in warnings:
            print(f"warning: {line}")
        print(f"{len(results)} hosts compiled, {len(findings)} findings, {len(waived)} waived, {elapsed:.2f} s")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
