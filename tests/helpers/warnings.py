"""Tell apart what an Ansible command printed as a warning: Ansible's own ``[DEPRECATION
WARNING]`` and ``[WARNING]`` lines (about our content or Ansible's), and a Python warning that a
dependency raised while Ansible imported it (``.../site-packages/<package>/x.py:18:
CryptographyDeprecationWarning: ...``), which names the package it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Python's warnings.formatwarning: "<file>:<line>: <Category>: <message>".
PYTHON_WARNING = re.compile(r"^(?P<file>/\S+\.py):\d+: (?P<category>\w*Warning): (?P<message>.*)$", re.M)
ANSIBLE_DEPRECATION = re.compile(r"^\[DEPRECATION WARNING\]:? ?(?P<message>.*)$", re.M)
ANSIBLE_VERSION = re.compile(r"^ansible \[core (?P<core>[0-9][^\]\s]*)\]\s*$", re.M)
PYTHON_VERSION_LINE = re.compile(r"^\s*python version = (?P<version>\S+)", re.M)


@dataclass(frozen=True)
class DependencyWarning:
    package: str
    category: str
    message: str
    file: str

    def __str__(self) -> str:
        return f"{self.category} raised in {self.package} ({self.file}): {self.message}"


def dependency_warnings(out: str) -> list[DependencyWarning]:
    """Python warnings in out, each with the package of the file that raised it."""
    found = []
    for m in PYTHON_WARNING.finditer(out):
        path = m["file"]
        package = path.split("-packages/", 1)[1].split("/", 1)[0] if "-packages/" in path else path
        found.append(DependencyWarning(package, m["category"], m["message"].strip(), path))
    return found


def ansible_deprecations(out: str) -> list[str]:
    return [m["message"] for m in ANSIBLE_DEPRECATION.finditer(out)]


def ansible_core_version(out: str) -> str | None:
    """The ansible-core version of an ``ansible --version`` output, wherever its line stands."""
    m = ANSIBLE_VERSION.search(out)
    return m["core"] if m else None
