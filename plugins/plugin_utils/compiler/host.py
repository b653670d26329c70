# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's variables in, one hardened, deterministic orthanc.json out."""

from __future__ import annotations

from typing import Any

from .dicom_tls import dicom_tls
from .findings import Finding, Result, order
from .inputs import PLUGIN_SCRIPT, Inputs
from .oauth_section import judge_section, oauth_section
from .orthanc_core import extra, orthanc_settings, users
from .outbound_proxy import outbound_proxy
from .values import non_finite, render
from .waivers import apply_rules


def compile_host(host: str, hostvars: dict[str, Any]) -> Result:
    """Compile one host. Never raises on bad input: problems become findings."""
    inp = Inputs(host, hostvars)
    env: dict[str, str] = {}
    secret_values: dict[str, str] = {}
    files: dict[str, str] = {}
    cfg = orthanc_settings(inp)
    cfg["RegisteredUsers"], user_passwords = users(inp, env, secret_values)
    dicom_tls(inp, cfg, files, secret_values)
    allowed = inp.strings("orthanc_oauth_allow_private_hosts", "orthanc_oauth_allow_private_hosts: [idp.example.lan]")
    section = oauth_section(inp, env, secret_values, files, allowed, outbound_proxy(inp, env, secret_values))
    if section is not None:
        cfg["DicomWebOAuth"] = section
        cfg["Plugins"].append(f"{cfg['Plugins'][0].rsplit('/', 1)[0]}/libOrthancPython.so")
        cfg["PythonScript"] = f"{inp.path('orthanc_oauth_plugin_dir').rstrip('/')}/{PLUGIN_SCRIPT}"
    extra(inp, cfg)
    for path in non_finite(cfg, "orthanc.json"):
        inp.bad(path, "is not a finite number", "JSON has no nan or infinity: use a number.")
    if any(f.message == "is not a finite number" for f in inp.findings):
        return Result(host, cfg, "", env, sorted(inp.findings, key=order), [], secret_files=files)
    rendered = render(cfg)
    warnings: list[str] = []
    findings: list[Finding] = []
    if section is not None:
        findings, warnings = judge_section(host, rendered, env)
    ctx = {"user_passwords": user_passwords, "secret_values": secret_values, "rendered": rendered}
    rule_findings, waived = apply_rules(inp, cfg, ctx)
    all_findings = sorted(inp.findings + findings + rule_findings, key=order)
    return Result(host, cfg, rendered, env, all_findings, waived, inp.notes + warnings, files)
