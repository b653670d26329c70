"""The shape of the Python code: no import cycle between modules, no function over 60 lines
outside tests. Both are read from the sources (ast), imports under TYPE_CHECKING included."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.collection import ROOT

# Each package and where its modules live; relative imports resolve inside it.
PACKAGES = {
    "orthanc_dicomweb_oauth": ROOT / "plugin/src/orthanc_dicomweb_oauth",
    "plugin_utils": ROOT / "plugins/plugin_utils",
    "testenv": ROOT / "testenv",
    "docgen": ROOT / "scripts/docgen",
}
CODE = ["plugins", "plugin/src", "bin", "scripts", "testenv", "bench", "extensions"]
MAX_LINES = 60


def module_name(package: str, root: Path, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(name: str, is_package: bool, tree: ast.AST) -> set[str]:
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            # `from pkg import module` needs the module (pkg is already importing); `from pkg
            # import name` needs pkg: both kept, graph() drops the one that is not a module.
            found.update(f"{target}.{a.name}" for a in node.names)
            found.add(target + "#from")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            name = module_name(package, root, path)
            modules[name] = imports(name, path.name == "__init__.py", ast.parse(path.read_text()))
    def needed(targets: set[str]) -> set[str]:
        out = {t for t in targets if t in modules}
        for t in targets:
            base = t.removesuffix("#from")
            if t.endswith("#from") and base in modules and not any(x.startswith(base + ".") for x in out):
                out.add(base)
        return out

    return {m: {t for t in needed(targets) if t != m} for m, targets in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_cycle():
    edges = graph()
    assert len(edges) > 50  # every package was read
    assert cycles(edges) == []


def test_the_cycle_check_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    edges = graph()
    edges["orthanc_dicomweb_oauth.loader.config"].add("orthanc_dicomweb_oauth.runtime.rest_api")
    assert cycles(edges)


def long_functions() -> list[str]:
    out = []
    for part in CODE:
        for path in (ROOT / part).rglob("*.py"):
            if "tests" in path.relative_to(ROOT).parts or "node_modules" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > MAX_LINES:
                        out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_function_over_60_lines_outside_tests():
    assert long_functions() == []
