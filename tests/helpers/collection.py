"""Running the collection from this checkout: a collections path whose
ansible_collections/dicomweb_oauth/orthanc points at the repository, and ansible-playbook."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The one place the version is written.
GALAXY_VERSION = str(yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"])


def plugin_utils() -> ModuleType:
    """The collection's plugin_utils package, loaded the way bin/orthanc-config-lint.py does."""
    name = "dicomweb_oauth_plugin_utils"
    if name in sys.modules:
        return sys.modules[name]
    pkg_dir = ROOT / "plugins" / "plugin_utils"
    spec = importlib.util.spec_from_file_location(name, pkg_dir / "__init__.py",
                                                  submodule_search_locations=[str(pkg_dir)])
    assert spec and spec.loader
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[name] = pkg
    spec.loader.exec_module(pkg)
    importlib.import_module(f"{name}.compiler")
    importlib.import_module(f"{name}.rules")
    return pkg


def collections_path(tmp: Path) -> Path:
    base = tmp / "collections"
    link = base / "ansible_collections" / "dicomweb_oauth" / "orthanc"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    return base


def ansible_env(colls: Path, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "VAULT_"))}
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(colls),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCAL_TEMP": str(colls.parent / "ansible-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(colls.parent / "ansible-tmp"),
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })
    env.update(extra or {})
    return env


def run_playbook(tmp: Path, playbook: str, extra_env: Optional[dict[str, str]] = None,
                 args: tuple[str, ...] = (), colls: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    colls = colls or collections_path(tmp)
    pb = tmp / "playbook.yml"
    pb.write_text(playbook)
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(pb), *args],
                          env=ansible_env(colls, extra_env), capture_output=True, text=True, timeout=300)


def build_and_install(tmp: Path) -> tuple[Path, Path]:
    """The collection as users get it: `ansible-galaxy collection build`, then `collection
    install` into an empty path. Returns (tarball, collections path)."""
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(tmp)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(tmp.glob("dicomweb_oauth-orthanc-*.tar.gz"))
    colls = tmp / "installed"
    inst = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(colls)],
                          capture_output=True, text=True, timeout=300, env=ansible_env(colls))
    assert inst.returncode == 0, inst.stdout + inst.stderr
    return tarball, colls
