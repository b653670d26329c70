# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the Vault auth methods and the vault_kv lookup: client construction, reading
KV v1/v2 secrets, and one error per failure kind. Messages never carry tokens or secrets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import hvac
    import hvac.exceptions
    import requests.exceptions

    HAS_HVAC = True
except ImportError:  # reported by the caller with a clear message
    HAS_HVAC = False


class VaultError(Exception):
    """``kind`` is one of: missing-library, config, unreachable, sealed, auth, permission-denied,
    not-found, invalid-answer."""

    def __init__(self, kind, message):
        self.kind = kind
        super(VaultError, self).__init__("vault %s: %s" % (kind, message))


def make_client(url, namespace=None, ca_cert=None, validate_certs=True, timeout=30):
    if not HAS_HVAC:
        raise VaultError("missing-library", "the python hvac library is required on the controller "
                         "(Debian: apt-get install python3-hvac; else pip install hvac)")
    if not url:
        raise VaultError("config", "no Vault address: set the url option or VAULT_ADDR")
    verify = ca_cert if (validate_certs and ca_cert) else bool(validate_certs)
    return hvac.Client(url=url, namespace=namespace or None, verify=verify, timeout=timeout)


def translate(exc, what):
    """The VaultError for an exception raised while doing ``what``."""
    if HAS_HVAC:
        if isinstance(exc, hvac.exceptions.InvalidPath):
            return VaultError("not-found", "%s: no such secret" % what)
        if isinstance(exc, hvac.exceptions.Forbidden):
            return VaultError("permission-denied", "%s: the token's policies do not allow it" % what)
        if isinstance(exc, hvac.exceptions.Unauthorized):
            return VaultError("auth", "%s: authentication refused" % what)
        if isinstance(exc, (hvac.exceptions.VaultDown, hvac.exceptions.VaultNotInitialized)):
            return VaultError("sealed", "%s: Vault is sealed or not initialised" % what)
        if isinstance(exc, requests.exceptions.SSLError):
            return VaultError("unreachable", "%s: TLS verification failed (set ca_cert)" % what)
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return VaultError("unreachable", "%s: cannot connect to Vault" % what)
        if isinstance(exc, hvac.exceptions.InvalidRequest):
            return VaultError("config", "%s: Vault refused the request as invalid" % what)
        if isinstance(exc, hvac.exceptions.VaultError):
            return VaultError("invalid-answer", "%s: Vault answered an error (%s)" % (what, type(exc).__name__))
    return VaultError("invalid-answer", "%s: %s" % (what, type(exc).__name__))


def read_kv(client, path, mount_point="secret", engine_version=2, version=None):
    """The secret's data (a dict) at ``path`` in the KV engine at ``mount_point``."""
    what = "read %s/%s (KV v%d)" % (mount_point, path, engine_version)
    try:
        if engine_version == 2:
            answer = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount_point, version=version)
            data = (answer or {}).get("data", {}).get("data")
        else:
            answer = client.secrets.kv.v1.read_secret(path=path, mount_point=mount_point)
            data = (answer or {}).get("data")
    except Exception as e:  # every failure kind is translated, none escapes with secrets
        raise translate(e, what)
    if not isinstance(data, dict):
        raise VaultError("not-found", "%s: the secret has no data (deleted version?)" % what)
    return data
