# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Orthanc plugin's own Python package, loaded on the controller from this collection's
``plugin/src`` (it ships in the collection), so that the compiler judges the ``DicomWebOAuth``
section with exactly the code the plugin runs in Orthanc.

Only the modules that load a configuration are imported; they need ``jsonschema`` and the
standard library, not the plugin's runtime dependencies (requests, cryptography, jwt, redis)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

PACKAGE = "orthanc_dicomweb_oauth"


def package_dir() -> str:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, "plugin", "src", PACKAGE)


def _load_package() -> None:
    if PACKAGE in sys.modules:
        return
    path = package_dir()
    spec = importlib.util.spec_from_file_location(PACKAGE, os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    if spec is None or spec.loader is None:  # pragma: no cover - a damaged installation
        raise ImportError(f"the plugin package is missing from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[PACKAGE]
        raise


def module(name: str) -> ModuleType:
    """``orthanc_dicomweb_oauth.<name>``, e.g. ``config``."""
    _load_package()
    return importlib.import_module(f"{PACKAGE}.{name}")
