# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the compiler says about a host: its findings, and the whole result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    host: str
    path: str
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.host}: {self.rule} [{self.severity}] {self.path}: {self.message} -- fix: {self.fix}"

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "host": self.host, "path": self.path,
                "message": self.message, "fix": self.fix}


@dataclass
class Result:
    host: str
    config: dict[str, Any]
    rendered: str
    environment: dict[str, str] = field(repr=False)
    findings: list[Finding]
    waived: list[dict[str, str]]
    warnings: list[str] = field(default_factory=list)
    # path on the host -> content: the client secrets, which the plugin reads from files (and
    # reads again when they change: a rotation needs no restart).
    secret_files: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> dict[str, Any]:
        """Everything but the secrets: safe to show."""
        return {"host": self.host, "ok": self.ok, "findings": [f.as_dict() for f in self.findings],
                "waived": self.waived, "warnings": self.warnings, "environment_names": sorted(self.environment)}


def order(f: Finding) -> tuple[str, str, str]:
    return (f.rule, f.path, f.message)
