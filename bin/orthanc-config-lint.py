"""Offline lint and compile of an inventory: python3 bin/orthanc-config-lint.py -i INVENTORY [--output-dir D].

Runs from a checkout or an installed collection, without ansible-playbook: it loads the
collection's plugin_utils package from beside this file."""

import importlib.util
import os
import sys

here = os.path.dirname(os.path.realpath(__file__))
pkg_dir = os.path.join(os.path.dirname(here), "plugins", "plugin_utils")
spec = importlib.util.spec_from_file_location("dicomweb_oauth_plugin_utils", os.path.join(pkg_dir, "__init__.py"),
                                              submodule_search_locations=[pkg_dir])
pkg = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = pkg
spec.loader.exec_module(pkg)
from dicomweb_oauth_plugin_utils.lint import main  # noqa: E402

sys.exit(main())
