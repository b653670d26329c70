"""Every generated document and generated block of this repository, from its one source:
python3 scripts/docs.py writes them all (make docs); --check writes nothing and exits 1 naming
each stale file (make docs-check). --root DIR works on a copy of the repository (tests).

  docs/errors.md                   the plugin's error registry (plugin/src/.../errors.py)
  docs/configuration-reference.md  the plugin's JSON Schema
  docs/hardening.md                the compiler's rules (plugins/plugin_utils/rules.py)
  docs/monitoring.md (panels)      the monitoring role's Grafana dashboard
  compiler inputs blocks           plugins/plugin_utils/compiler/inputs.py: the config and common
                                   roles' defaults, argument_specs options and the input list,
                                   and the table of docs/collection.md
  roles/*/README.md                each role's meta/argument_specs.yml (after the blocks above)"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable


def _plugin_utils(root: Path) -> ModuleType:
    """The collection's plugin_utils package of ``root``, loaded as the lint loads it."""
    name = "dicomweb_oauth_plugin_utils"
    pkg_dir = root / "plugins" / "plugin_utils"
    spec = importlib.util.spec_from_file_location(name, pkg_dir / "__init__.py",
                                                  submodule_search_locations=[str(pkg_dir)])
    assert spec is not None and spec.loader is not None
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[name] = pkg
    spec.loader.exec_module(pkg)
    return pkg


def targets(root: Path) -> list[tuple[str, Callable[[str], str]]]:
    """(path relative to root, old text -> new text), in the order they must be made."""
    sys.path[:0] = [str(root / "plugin" / "src"), str(root / "scripts")]
    _plugin_utils(root)
    from dicomweb_oauth_plugin_utils import rules
    from dicomweb_oauth_plugin_utils.compiler.inputs import INPUTS
    from docgen import dashboard_md, errors_md, inputs_md, reference_md

    def block(rel: str, body: str) -> tuple[str, Callable[[str], str]]:
        return rel, lambda old: inputs_md.replace_block(old, body, rel)

    out: list[tuple[str, Callable[[str], str]]] = [
        ("docs/errors.md", lambda _: errors_md.markdown()),
        ("docs/configuration-reference.md", lambda _: reference_md.markdown()),
        ("docs/hardening.md", lambda _: rules.markdown()),
        ("docs/monitoring.md", lambda old: dashboard_md.render(root, old)),
        block("docs/collection.md", inputs_md.table(INPUTS)),
        block("roles/config/vars/main.yml", inputs_md.input_list(INPUTS)),
    ]
    for owner in ("config", "common"):
        out.append(block(f"roles/{owner}/defaults/main.yml", inputs_md.defaults(INPUTS, owner)))
        out.append(block(f"roles/{owner}/meta/argument_specs.yml", inputs_md.options(INPUTS, owner)))
    return out


def run(root: Path, check: bool) -> list[str]:
    """Makes every target (in memory when checking); returns the stale ones."""
    from docgen import roles_md

    stale = []
    made: dict[Path, str] = {}
    for rel, make in targets(root):
        path = root / rel
        old = path.read_text() if path.exists() else ""
        made[path] = make(old)
        if made[path] != old:
            stale.append(rel)
    for role in sorted(p for p in (root / "roles").iterdir() if p.is_dir()):
        spec = role / "meta" / "argument_specs.yml"
        readme = role / "README.md"
        old = readme.read_text() if readme.exists() else ""
        made[readme] = roles_md.readme(role, made.get(spec))  # the spec as it is written
        if made[readme] != old:
            stale.append(str(readme.relative_to(root)))
    if not check:
        for path, text in made.items():
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated text is stale")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    stale = run(args.root.resolve(), args.check)
    if args.check and stale:
        print("stale generated text (run 'make docs'): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
