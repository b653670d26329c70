"""The skip policy (tests/helpers/skip_policy.py): a run with a skip that is not listed fails,
the same run with it listed (and a reason) passes, and a listing without a reason is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.collection import ROOT

TESTS = '''
import shutil
import pytest

def test_runs():
    assert True

@pytest.mark.skipif(shutil.which("no-such-tool-here") is None, reason="no-such-tool-here is not installed")
def test_needs_a_tool():
    assert True
'''


def run(tmp: Path, listing: str) -> subprocess.CompletedProcess[str]:
    (tmp / "test_sample.py").write_text(TESTS)
    (tmp / "pytest.ini").write_text("[pytest]\n")
    (tmp / "skips.yml").write_text(listing)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DWO_ALLOWED_SKIPS": str(tmp / "skips.yml")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                           "tests.helpers.skip_policy", "-c", str(tmp / "pytest.ini"), str(tmp)],
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=120)


def test_an_unlisted_skip_fails_the_run(tmp_path):
    out = run(tmp_path, "[]\n")
    assert out.returncode == 1, out.stdout
    assert "1 passed, 1 skipped" in out.stdout
    assert "test_sample.py::test_needs_a_tool: no-such-tool-here is not installed" in out.stdout


def test_a_listed_skip_with_its_reason_passes(tmp_path):
    out = run(tmp_path, "- test: '*::test_needs_a_tool'\n  reason: the tool is not packaged for this release\n")
    assert out.returncode == 0, out.stdout


def test_a_listing_without_a_reason_is_refused(tmp_path):
    out = run(tmp_path, "- test: '*::test_needs_a_tool'\n")
    assert out.returncode != 0 and "needs test: and a written reason" in out.stdout + out.stderr


def test_this_repository_loads_the_policy_for_every_run():
    assert "tests.helpers.skip_policy" in (ROOT / "conftest.py").read_text()
