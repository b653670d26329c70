"""Every role's argument_specs, defaults and README agree."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from tests.helpers.collection import ROOT, run_playbook

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir())


@pytest.mark.parametrize("role", ROLES)
def test_defaults_match_argument_specs(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options), set(defaults) ^ set(options)
    for name, value in defaults.items():
        assert options[name].get("default") == value, name
        assert options[name].get("description"), name


def test_config_role_inputs_are_the_compilers():
    """The config role passes exactly the compiler's variables (no more, no less)."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers.collection import plugin_utils

    plugin_utils()
    compiler = sys.modules["dicomweb_oauth_plugin_utils.compiler"]
    role_vars = yaml.safe_load((ROOT / "roles" / "config" / "vars" / "main.yml").read_text())
    assert set(role_vars["_config_compile_input"]) == {i.name for i in compiler.INPUTS}


# Debian codename of each major release the collection supports.
RELEASES = {"bookworm": "12", "trixie": "13"}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_supports_the_same_releases_with_facts_for_each(role):
    meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
    platforms = meta["galaxy_info"]["platforms"]
    assert platforms == [{"name": "Debian", "versions": list(RELEASES)}]
    # A role with per-release facts has a vars file for each supported release and no other.
    facts = sorted(p.name for p in (ROOT / "roles" / role / "vars").glob("Debian-*.yml"))
    assert facts in ([], [f"Debian-{n}.yml" for n in RELEASES.values()])
    if facts:
        keys = [set(yaml.safe_load((ROOT / "roles" / role / "vars" / f).read_text())) for f in facts]
        assert all(k == keys[0] for k in keys), keys


@pytest.mark.parametrize(("codename", "major", "supported"), [
    ("bookworm", "12", True), ("trixie", "13", True), ("bullseye", "11", False), ("forky", "14", False)])
def test_release_preflight(tmp_path, codename, major, supported):
    """The release check every role gets from its dependency, the common role, against a host whose facts say the given release (play vars
    take precedence over facts): supported releases pass, others stop naming ours."""
    facts = {"distribution": "Debian", "distribution_release": codename,
             "distribution_major_version": major, "distribution_version": f"{major}.1"}
    playbook = f"""
- hosts: localhost
  gather_facts: false
  vars:
    ansible_facts: {json.dumps(facts)}
  tasks:
    - ansible.builtin.include_role:
        name: dicomweb_oauth.orthanc.common
    - ansible.builtin.debug:
        msg: "release passed"
"""
    r = run_playbook(tmp_path, playbook)
    out = r.stdout + r.stderr
    if supported:
        assert r.returncode == 0, out
        assert "release passed" in out
    else:
        assert r.returncode != 0
        assert "supports Debian bookworm and trixie" in out and f"({codename})" in out
        assert "release passed" not in out
