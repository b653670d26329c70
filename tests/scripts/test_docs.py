"""scripts/docs.py: every generated text equals what its source gives, and `make docs-check`
fails when a default, a description or an input name is changed in one place only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.collection import ROOT

PARTS = ("plugins", "plugin/src", "roles", "docs", "scripts")


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(root / "scripts" / "docs.py"), "--check", "--root", str(root)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for part in PARTS:
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    return tmp_path


def test_the_generated_texts_of_this_checkout_are_current():
    out = check(ROOT)
    assert out.returncode == 0, out.stderr


# (file, text in it, the same text changed): one default, one description, one input name, in
# each place generated from the compiler's declared inputs; and the declaration itself.
EDITS = [
    ("roles/config/defaults/main.yml", "orthanc_http_port: 8042", "orthanc_http_port: 8043"),
    ("roles/config/defaults/main.yml", "# DicomPort.", "# The DICOM port."),
    ("roles/config/meta/argument_specs.yml", "      orthanc_dicom_aet:", "      orthanc_dicom_ae_title:"),
    ("roles/config/meta/argument_specs.yml", "description: DicomPort.", "description: DICOM port."),
    ("roles/config/vars/main.yml", "  orthanc_dicom_aet: ", "  orthanc_dicom_ae_title: "),
    ("roles/common/defaults/main.yml", "orthanc_storage_directory: /var/lib/orthanc/db",
     "orthanc_storage_directory: /srv/orthanc"),
    ("roles/common/meta/argument_specs.yml", "default: /usr/lib/orthanc-dicomweb-oauth", "default: /opt/dwo"),
    ("docs/collection.md", "| `orthanc_http_port` | int | `8042` |", "| `orthanc_http_port` | int | `8080` |"),
    ("roles/config/README.md", "| `orthanc_dicom_port` | int | `4242` | DicomPort. |",
     "| `orthanc_dicom_port` | int | `4242` | The DICOM port. |"),
    ("plugins/plugin_utils/compiler/inputs.py", 'Input("orthanc_http_port", "int", 8042,',
     'Input("orthanc_http_port", "int", 8080,'),
    ("plugins/plugin_utils/compiler/inputs.py", '"DicomPort."', '"The DICOM port."'),
]


@pytest.mark.parametrize(("path", "old", "new"), EDITS, ids=[f"{p}:{o.strip()[:30]}" for p, o, _ in EDITS])
def test_a_change_in_one_place_only_fails_the_check(copy: Path, path: str, old: str, new: str):
    target = copy / path
    text = target.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}: the test is out of date"
    target.write_text(text.replace(old, new))
    out = check(copy)
    assert out.returncode == 1 and "stale generated text" in out.stderr, out.stderr
