# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  url:
    description: Vault address.
    type: str
    env:
      - name: VAULT_ADDR
  namespace:
    description: Vault Enterprise namespace (sent as C(X-Vault-Namespace)).
    type: str
    env:
      - name: VAULT_NAMESPACE
  auth_method:
    description: How to authenticate.
    type: str
    choices: [token, approle]
    default: token
  token:
    description: Vault token for I(auth_method=token).
    type: str
    env:
      - name: VAULT_TOKEN
  role_id:
    description: AppRole role id for I(auth_method=approle).
    type: str
    env:
      - name: VAULT_ROLE_ID
  secret_id:
    description: AppRole secret id for I(auth_method=approle).
    type: str
    env:
      - name: VAULT_SECRET_ID
  approle_mount_point:
    description: Mount point of the AppRole auth method.
    type: str
    default: approle
  ca_cert:
    description: CA bundle to verify Vault's certificate.
    type: path
    env:
      - name: VAULT_CACERT
  validate_certs:
    description: Verify Vault's TLS certificate. Only turn off for a throw-away test Vault.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for Vault.
    type: int
    default: 30
"""
