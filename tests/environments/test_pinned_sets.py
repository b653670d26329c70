"""Every virtualenv and image the project builds holds exactly its pinned set (requirements/*.txt,
written by `make lock`): each package of the set at its pinned version, nothing else installed
into it, and its ansible prints no warning, neither Ansible's nor a dependency's. A set that
moved without its venv or image following it, or a venv that pip filled from the index on its
own, fails here (docs/testing.md, "Pinned sets")."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.conftest import report
from tests.helpers.collection import ROOT
from tests.helpers.warnings import ansible_core_version, ansible_deprecations, dependency_warnings

REQUIREMENTS = ROOT / "requirements"
# What a venv gets from the interpreter itself (ensurepip), not from a pinned set.
FROM_THE_INTERPRETER = {"pip", "setuptools"}
# Run by the venv's python: its own distributions (under sys.prefix) and the version of each
# pinned name that an import would find first (the venv's, else Debian's for .venv).
LIST_SCRIPT = """
import importlib.metadata as md, json, re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
own = {norm(d.metadata["Name"]): d.version for d in md.distributions()
       if str(d.locate_file("")).startswith(sys.prefix)}
def visible(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
print(json.dumps({"own": own, "visible": {n: visible(n) for n in json.loads(sys.argv[1])}}))
"""


def pinned(*sets: str) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in sets:
        text = (REQUIREMENTS / f"{name}.txt").read_text()
        versions.update(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", text, re.M))
    return versions


def run(cmd: list[str], timeout: int = 900) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc.stdout


def in_controller(*cmd: str) -> list[str]:
    return ["bash", str(ROOT / "scripts" / "in-controller.sh"), "--", *cmd]


# (pinned sets, how to make sure the venv exists, how to run its python, its ansible)
HOST_PY = "py3.11"
ENVIRONMENTS = {
    # .venv runs this test: bootstrap made it, and remaking it here would pull it from under pytest.
    "dev": (("dev", "dev-stubs"), None, [".venv/bin/python"], [".venv/bin/ansible"]),
    "ansible-lint": (("ansible-lint",), ["bash", "scripts/venv.sh", "ansible-lint"],
                     [".testenv/ansible-lint/bin/python"], [".testenv/ansible-lint/bin/ansible"]),
    "sanity-2.16.14": (("sanity-2.16.14",), ["bash", "scripts/venv.sh", "sanity-2.16.14"],
                       [f".testenv/ansible-2.16.14-{HOST_PY}/bin/python"],
                       [f".testenv/ansible-2.16.14-{HOST_PY}/bin/ansible"]),
    "sanity-2.21.5": (("sanity-2.21.5",), in_controller("bash", "scripts/venv.sh", "sanity-2.21.5"),
                      in_controller(".testenv/ansible-2.21.5-py3.13/bin/python"),
                      in_controller(".testenv/ansible-2.21.5-py3.13/bin/ansible")),
    "controller image": (("controller",), None, in_controller("/opt/ansible/bin/python"),
                         in_controller("/opt/ansible/bin/ansible")),
}


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_environment_holds_exactly_its_pinned_set(env):
    sets, ensure, python, _ = ENVIRONMENTS[env]
    want = pinned(*sets)
    if ensure:
        run(ensure)
    got = json.loads(run([*python, "-c", LIST_SCRIPT, json.dumps(sorted(want))]).strip().splitlines()[-1])
    wrong = {n: (v, got["visible"][n]) for n, v in want.items() if got["visible"][n] != v}
    assert not wrong, f"{env}: pinned != installed: {wrong}"
    extra = set(got["own"]) - set(want) - FROM_THE_INTERPRETER
    assert not extra, f"{env}: installed but not in requirements/{'+'.join(sets)}.txt: {sorted(extra)}"
    report(f"pinned set {'+'.join(sets)}: {env} holds its {len(want)} packages at their pinned versions")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_ansible_of_each_environment_prints_no_warning(env):
    sets, ensure, _, ansible = ENVIRONMENTS[env]
    if ensure:
        run(ensure)
    proc = subprocess.run([*ansible, "--version"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    core = ansible_core_version(out)
    assert core == pinned(*sets)["ansible-core"], f"{env}: ansible-core {core}, not the pinned one:\n{out}"
    deps = dependency_warnings(out)
    assert not deps, (f"{env}: a dependency warns on every Ansible command (not Ansible, not this collection): "
                      + "; ".join(map(str, deps)))
    assert not ansible_deprecations(out), out


def test_a_dependency_warning_is_told_apart_from_ansible_and_the_version_found_behind_it():
    # What a fresh controller image printed with cryptography 51.0.1 (issue 23), and an Ansible line.
    out = ("/opt/ansible/lib/python3.13/site-packages/ansible/_internal/_ssh/_ssh_agent.py:18: "
           "CryptographyDeprecationWarning: DSA is deprecated and support will be removed in a future release.\n"
           "  from cryptography.hazmat.primitives.asymmetric.dsa import (\n"
           "ansible [core 2.21.5]\n  config file = None\n  python version = 3.13.5 (main) [GCC 14.2.0]\n"
           "[DEPRECATION WARNING]: The 'x' option is deprecated.\n")
    assert ansible_core_version(out) == "2.21.5"
    (dep,) = dependency_warnings(out)
    assert (dep.package, dep.category) == ("ansible", "CryptographyDeprecationWarning")
    assert ansible_deprecations(out) == ["The 'x' option is deprecated."]
    assert dependency_warnings("ansible [core 2.19.14]\n") == [] and ansible_deprecations("[WARNING]: x") == []
