"""Release hygiene: one version (galaxy.yml), a LICENSE that matches galaxy.yml's licence, and a
CHANGELOG.md that antsibull-changelog makes from changelogs/ (fragments lint clean)."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from tests.helpers.collection import BIN, GALAXY_VERSION, ROOT

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())


def test_license_file_matches_galaxy_yml():
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    text = (ROOT / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text


def test_the_version_is_written_only_in_galaxy_yml():
    # Every other place reads it: the plugin (from VERSION, MANIFEST.json or galaxy.yml), the
    # oauth_plugin role (MANIFEST.json or galaxy.yml), plugin/pyproject.toml (from the plugin).
    literal = re.compile(r"""(__version__\s*=\s*["']|^version\s*=\s*["']|orthanc_oauth_plugin_version:\s*["']?\d)""", re.M)
    offenders = []
    for path in [*ROOT.glob("plugin/**/*.py"), *ROOT.glob("plugin/**/*.toml"), *ROOT.glob("roles/**/*.yml"),
                 *ROOT.glob("plugins/**/*.py")]:
        if literal.search(path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    out = subprocess.run([str(BIN / "python"), "-c", "import orthanc_dicomweb_oauth as m; print(m.__version__)"],
                         env={"PYTHONPATH": str(ROOT / "plugin" / "src")}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == GALAXY_VERSION


def test_changelog_is_antsibull_changelogs_output(tmp_path):
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "changelogs", work / "changelogs")
    shutil.copy(ROOT / "galaxy.yml", work / "galaxy.yml")
    tool = str(BIN / "antsibull-changelog")
    lint = subprocess.run([tool, "lint"], cwd=work, capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0 and lint.stdout.strip() == "", lint.stdout + lint.stderr
    gen = subprocess.run([tool, "generate"], cwd=work, capture_output=True, text=True, timeout=120)
    assert gen.returncode == 0, gen.stderr
    assert (work / "CHANGELOG.md").read_text() == (ROOT / "CHANGELOG.md").read_text(), \
        "CHANGELOG.md is not what antsibull-changelog makes: run 'make changelog'"
    released = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert GALAXY_VERSION not in released, "galaxy.yml names a released version: bump it"
