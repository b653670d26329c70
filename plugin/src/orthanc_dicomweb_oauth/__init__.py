"""OAuth2 bearer tokens for Orthanc's DICOMweb client (dicomweb_oauth.orthanc)."""

import json
import re
from pathlib import Path

API_VERSION = 1


def _version() -> str:
    """The collection's version, written only in galaxy.yml. Deployed, the oauth_plugin role
    puts it in VERSION beside this package; in an installed collection it is in MANIFEST.json;
    in a clone, in galaxy.yml (this package is plugin/src/orthanc_dicomweb_oauth)."""
    here = Path(__file__).resolve().parent
    root = here.parents[2]
    try:
        return (here.parent / "VERSION").read_text().strip()
    except OSError:
        pass
    try:
        return str(json.loads((root / "MANIFEST.json").read_text())["collection_info"]["version"])
    except (OSError, ValueError, KeyError):
        pass
    try:
        found = re.search(r"^version:\s*['\"]?([^\s'\"]+)", (root / "galaxy.yml").read_text(), re.M)
    except OSError:
        found = None
    return found.group(1) if found else "unknown"


__version__ = _version()
