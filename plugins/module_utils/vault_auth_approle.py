# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vault AppRole authentication: role_id and secret_id exchanged for a client token."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dicomweb_oauth.orthanc.plugins.module_utils.vault_common import (
    VaultError,
    translate,
)


def authenticate(client, role_id, secret_id, mount_point="approle"):
    if not role_id:
        raise VaultError("config", "auth_method approle needs role_id (option or VAULT_ROLE_ID)")
    try:
        client.auth.approle.login(role_id=role_id, secret_id=secret_id, mount_point=mount_point)
    except Exception as e:  # translated: never shows role or secret id
        err = translate(e, "AppRole login at auth/%s" % mount_point)
        if err.kind in ("config", "permission-denied", "invalid-answer"):
            err = VaultError("auth", "AppRole login at auth/%s: role_id or secret_id refused" % mount_point)
        raise err
    return client
