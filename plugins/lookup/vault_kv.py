# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: vault_kv
author: dicomweb_oauth.orthanc maintainers (@dicomweb-oauth)
version_added: "0.1.0"
short_description: Read secrets from HashiCorp Vault's KV engine (v2 or v1)
description:
  - Returns the secret at each path, or one key of it, from a KV version 2 or version 1 secrets
    engine, authenticating with a token or with AppRole.
  - Errors say which kind of failure happened (not found, permission denied, sealed, unreachable,
    authentication) and never contain a token or a secret. Use C(no_log) on tasks that handle
    the values.
  - Prefer C(community.hashi_vault)'s lookups (for example M(community.hashi_vault.vault_kv2_get))
    with AppRole or its other auth methods. This lookup exists for token auth, where
    C(community.hashi_vault) 7.1.0 (the newest release, in the C(ansible) 12 and 14 packages)
    fails every read on ansible-core 2.19 and later with an error that prints the token.
requirements:
  - hvac (python library on the controller; Debian 12 package python3-hvac)
extends_documentation_fragment:
  - dicomweb_oauth.orthanc.vault
options:
  _terms:
    description: Secret paths inside the engine, e.g. C(orthanc/azure).
    required: true
    type: list
    elements: str
  mount_point:
    description: Where the KV engine is mounted.
    type: str
    default: secret
  engine_version:
    description: KV engine version.
    type: int
    choices: [1, 2]
    default: 2
  version:
    description: KV v2 only; the secret version to read (default the latest).
    type: int
  key:
    description: Return only this key of each secret instead of the whole mapping.
    type: str
"""

EXAMPLES = r"""
- name: A client secret from KV v2, with VAULT_ADDR and VAULT_TOKEN in the environment
  ansible.builtin.set_fact:
    azure_secret: "{{ lookup('dicomweb_oauth.orthanc.vault_kv', 'orthanc/azure', key='client_secret') }}"
  no_log: true

- name: With AppRole, a namespace and a private CA
  ansible.builtin.set_fact:
    redis: "{{ lookup('dicomweb_oauth.orthanc.vault_kv', 'orthanc/redis', auth_method='approle',
               role_id=vault_role_id, secret_id=vault_secret_id, namespace='imaging',
               ca_cert='/etc/ssl/certs/vault-ca.pem') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One item per path, the secret's data mapping, or the value of I(key).
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.dicomweb_oauth.orthanc.plugins.module_utils import (
    vault_auth_approle,
    vault_auth_token,
)
from ansible_collections.dicomweb_oauth.orthanc.plugins.module_utils.vault_common import (
    VaultError,
    make_client,
    read_kv,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)

        def opt(name):
            # Plain str: ansible-core's tagged strings upset requests' header checks.
            value = self.get_option(name)
            return str(value) if isinstance(value, str) else value

        try:
            client = make_client(opt("url"), namespace=opt("namespace"), ca_cert=opt("ca_cert"),
                                 validate_certs=opt("validate_certs"), timeout=opt("timeout"))
            if opt("auth_method") == "approle":
                vault_auth_approle.authenticate(client, opt("role_id"), opt("secret_id"),
                                                opt("approle_mount_point"))
            else:
                vault_auth_token.authenticate(client, opt("token"))
            out = []
            for term in terms:
                term = str(term)
                data = read_kv(client, term.strip("/"), mount_point=opt("mount_point"),
                               engine_version=opt("engine_version"), version=opt("version"))
                key = opt("key")
                if key is None:
                    out.append(data)
                elif key in data:
                    out.append(data[key])
                else:
                    raise VaultError("not-found", "secret %s has no key %r (keys: %s)"
                                     % (term, key, ", ".join(sorted(data))))
            return out
        except VaultError as e:
            raise AnsibleLookupError(str(e))
