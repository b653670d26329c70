"""Loaded for every pytest run of this repository (plugin/tests and tests alike)."""

pytest_plugins = ["tests.helpers.skip_policy"]
