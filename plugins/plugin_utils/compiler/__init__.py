# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The orthanc.json compiler: one host's inventory variables in, one hardened, deterministic
configuration out, plus the secrets it moved out of it and every finding.

Secrets (user passwords, the plugin's client secrets, service-account keys, Redis password and
cache key) never stay in orthanc.json: each is replaced by ``${VAR}`` (Orthanc substitutes
environment variables in its configuration) and returned in ``environment``, for a root-owned
file readable only by the Orthanc group that the service loads; client secrets go to files the
plugin reads again when they change. Rendering sorts keys and uses a fixed layout, so the same
inventory always gives the same bytes.

The modules, by concern: ``inputs`` (the declared inputs and their reading), ``orthanc_core``
(Orthanc's own settings and users), ``environment`` (secrets to the environment file),
``dicom_tls``, ``outbound_proxy``, ``oauth_section`` (the plugin's section), ``waivers`` (the
hardening rules and waivers), ``preflight`` (what the config role probes from the host),
``plugin_loader`` (the one bridge to the plugin's own loader) and ``host`` (all of it for one
host)."""

from .environment import json_inner, render_environment
from .findings import Finding, Result
from .host import compile_host
from .inputs import DEFAULTS, INPUTS, PLUGIN_SCRIPT
from .plugin_loader import loader_fix
from .preflight import provider_checks
from .values import plain, render

__all__ = ["DEFAULTS", "INPUTS", "PLUGIN_SCRIPT", "Finding", "Result", "compile_host", "json_inner", "loader_fix",
           "plain", "provider_checks", "render", "render_environment"]
