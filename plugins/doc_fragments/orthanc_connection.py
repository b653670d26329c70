# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How a module reaches Orthanc's REST API; the argument spec is
    # plugins/module_utils/orthanc_http.connection_argument_spec().
    DOCUMENTATION = r"""
options:
  url:
    description: Orthanc's REST API root as seen from the host the module runs on.
    type: str
    default: http://127.0.0.1:8042
  username:
    description: Orthanc user (Orthanc's C(RegisteredUsers)); leave unset when authentication is off.
    type: str
  password:
    description: Password of I(username).
    type: str
  validate_certs:
    description: Verify Orthanc's TLS certificate when I(url) is https.
    type: bool
    default: true
  ca_path:
    description: CA bundle for Orthanc's certificate.
    type: path
"""
