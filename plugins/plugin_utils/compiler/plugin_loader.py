# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bridge to the Orthanc plugin's loader: the plugin's own package, loaded on the controller
from this collection's ``plugin/src`` (it ships in the collection), so that the compiler judges
with exactly the code the plugin runs in Orthanc (one judge).

This module is the only place the compiler reaches into the plugin: every name it uses is a
function here. It imports only the plugin's loader modules, which need ``jsonschema`` and the
standard library, not the plugin's runtime dependencies (requests, cryptography, jwt, redis)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

PACKAGE = "orthanc_dicomweb_oauth"


def package_dir() -> str:
    here = os.path.abspath(__file__)  # <collection>/plugins/plugin_utils/compiler/plugin_loader.py
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here))))
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


def _module(name: str) -> ModuleType:
    _load_package()
    return importlib.import_module(f"{PACKAGE}.{name}")


def loader_module(name: str) -> ModuleType:
    """``orthanc_dicomweb_oauth.<name>`` itself, for tests that check which file is judged."""
    return _module(name)


def loader_fix(e: ImportError) -> str:
    """What to do when the plugin's loader does not import: a library missing on the controller,
    or the plugin's own sources in this collection broken (then every Orthanc would refuse them too)."""
    if isinstance(e, ModuleNotFoundError) and e.name and not e.name.startswith(PACKAGE):
        return f"pip install {e.name} on the controller (the plugin's loader needs jsonschema)"
    return f"the plugin's sources shipped in this collection do not import ({e}): install an intact collection"


def schema() -> dict[str, Any]:
    """The plugin's own JSON Schema, or {} when its loader cannot be imported here (the judge
    then reports that, and the result is not ok)."""
    try:
        loaded: dict[str, Any] = _module("loader.config").load_schema()
    except ImportError:
        return {}
    return loaded


def secret_keys(definition: str) -> tuple[str, ...]:
    """The keys the plugin's schema marks ``x-secret`` in ``$defs/<definition>``: these move to
    the environment file."""
    props = schema().get("$defs", {}).get(definition, {}).get("properties", {})
    return tuple(k for k, v in props.items() if v.get("x-secret"))


def rate_limit_defaults() -> dict[str, Any]:
    """The REST API's rate limit as the plugin's schema defaults it."""
    props = schema().get("properties", {}).get("RateLimit", {}).get("properties", {})
    return {k: v["default"] for k, v in props.items()}


def unused_notes(name: str, server: Any) -> dict[str, str]:
    """Key -> the plugin's warning, for each key of a server definition its provider does not read."""
    try:
        config = _module("loader.config")
    except ImportError:
        return {}  # the judge reports the loader that does not import
    return dict(zip(config.unused_keys(server), config.unused_notes(name, server)))


def proxy_errors(proxy: dict[str, Any], where: str) -> list[Any]:
    """The plugin's own rules on a proxy definition (raises ImportError when the loader does not import)."""
    errors: list[Any] = _module("loader.proxy").proxy_errors(proxy, where)
    return errors


def goes_direct(host: str, no_proxy: Any) -> bool:
    """Whether the plugin sends a request for ``host`` direct rather than through the proxy."""
    return bool(_module("loader.proxy").goes_direct(host, no_proxy))


def judge(config: Any, env: dict[str, str]) -> tuple[Any, list[Any]]:
    """The plugin's loader on orthanc.json as Orthanc hands it over; files on the host and unknown
    variables are left to the host. (plugin configuration or None, errors)"""
    return _module("loader.orthanc_settings").judge(config, {}, defer=True, host_files=False, service_environ=env)  # type: ignore[no-any-return]
