# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vault token authentication: the token is used as it is (VAULT_TOKEN or the token option)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dicomweb_oauth.orthanc.plugins.module_utils.vault_common import VaultError


def authenticate(client, token):
    if not token:
        raise VaultError("config", "auth_method token needs a token (token option or VAULT_TOKEN)")
    client.token = token
    return client
