"""Every role's argument_specs, defaults and README agree."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.helpers.collection import ROOT

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


def test_role_readmes_generated_from_specs():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "role_docs.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_config_role_inputs_are_the_compilers():
    """The config role passes exactly the compiler's variables (no more, no less)."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers.collection import plugin_utils

    plugin_utils()
    compiler = sys.modules["dicomweb_oauth_plugin_utils.compiler"]
    role_vars = yaml.safe_load((ROOT / "roles" / "config" / "vars" / "main.yml").read_text())
    assert set(role_vars["_orthanc_compile_input"]) == set(compiler.DEFAULTS) | {"orthanc_name"}
