#!/usr/bin/env python3
"""Writes a small synthetic CT study (pydicom, no patient data) into a directory, for the demo:
python3 scripts/synthetic_study.py DIR [N]. Prints the StudyInstanceUID."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.dicom import ct_series


def main() -> int:
    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    out.mkdir(parents=True, exist_ok=True)
    from pydicom import dcmread

    uid = ""
    for i, data in enumerate(ct_series(n, patient="DEMO^OAUTH")):
        (out / f"ct-{i:03d}.dcm").write_bytes(data)
        uid = dcmread(out / f"ct-{i:03d}.dcm").StudyInstanceUID
    print(uid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
