# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: tls_problems
author: dicomweb_oauth.orthanc maintainers (@dicomweb-oauth)
version_added: "0.2.0"
short_description: What is wrong with a certificate and its private key, before they are deployed
description:
  - Checks, on the controller, a PEM certificate (with its chain) and a PEM private key. Both must
    parse, the key must belong to the first certificate, the certificate must be valid now and
    cover at least one of the given names (DNS names or IP addresses of its subjectAltName).
  - Returns the list of problems, empty when there is none. A message never contains key
    material. Uses the python cryptography library, which ansible-core itself needs.
positional: _input
options:
  _input:
    description: The certificate, PEM.
    type: str
    required: true
  private_key:
    description: The private key, PEM (unencrypted).
    type: str
    required: true
  names:
    description: Names clients use; one of them must be in the certificate.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: The certificate and key are a pair for this host
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems }}"
  vars:
    _problems: "{{ tls_front_certificate
      | dicomweb_oauth.orthanc.tls_problems(tls_front_private_key, [inventory_hostname]) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The problems found, each a sentence; empty when the pair is good.
  type: list
  elements: str
"""

import datetime
import ipaddress

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    HAS_CRYPTOGRAPHY = True
except ImportError:  # reported as a problem
    HAS_CRYPTOGRAPHY = False


def _public(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _names_covered(cert, names):
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    dns = set(n.lower() for n in san.get_values_for_type(x509.DNSName))
    ips = set(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    for name in names:
        try:
            if str(ipaddress.ip_address(name)) in ips:
                return True
        except ValueError:
            parts = name.lower().split(".", 1)
            if name.lower() in dns or (len(parts) == 2 and "*." + parts[1] in dns):
                return True
    return False


def _not_after(cert):
    when = getattr(cert, "not_valid_after_utc", None)
    return when if when is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _not_before(cert):
    when = getattr(cert, "not_valid_before_utc", None)
    return when if when is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def tls_problems(certificate, private_key, names=None):
    if not HAS_CRYPTOGRAPHY:
        return ["the python cryptography library is missing on the controller"]
    names = [str(n) for n in (names or [])]
    try:
        certs = x509.load_pem_x509_certificates(str(certificate).encode())
    except (ValueError, AttributeError):
        try:
            certs = [x509.load_pem_x509_certificate(str(certificate).encode())]
        except ValueError:
            return ["the certificate is not a PEM certificate"]
    try:
        key = serialization.load_pem_private_key(str(private_key).encode(), password=None)
    except (ValueError, TypeError):
        return ["the private key is not an unencrypted PEM private key"]
    cert, problems = certs[0], []
    if _public(cert) != _public(key):
        problems.append("the private key does not belong to the certificate")
    now = datetime.datetime.now(datetime.timezone.utc)
    if _not_after(cert) < now:
        problems.append("the certificate expired on %s" % _not_after(cert).isoformat())
    if _not_before(cert) > now:
        problems.append("the certificate is not valid before %s" % _not_before(cert).isoformat())
    if names and not _names_covered(cert, names):
        problems.append("the certificate covers none of %s (its subjectAltName)" % ", ".join(names))
    return problems


class FilterModule(object):
    def filters(self):
        return {"tls_problems": tls_problems}
