# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Orthanc's REST API from a module on the managed host: one JSON call at a time, HTTP errors
returned as answers (the caller judges the status), credentials never in results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.urls import open_url


def connection_argument_spec():
    """The options of the doc fragment dicomweb_oauth.orthanc.orthanc_connection."""
    return dict(
        url=dict(type="str", default="http://127.0.0.1:8042"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
    )


class OrthancClient(object):
    def __init__(self, url, username=None, password=None, validate_certs=True, ca_path=None, timeout=30):
        self.base = url.rstrip("/")
        self.kw = dict(url_username=username, url_password=password, force_basic_auth=bool(username),
                       validate_certs=validate_certs, ca_path=ca_path, timeout=timeout,
                       headers={"Content-Type": "application/json", "Accept": "application/json"})

    @classmethod
    def from_params(cls, p):
        return cls(p["url"], p["username"], p["password"], p["validate_certs"], p["ca_path"], p["timeout"])

    def call(self, method, path, body=None):
        """(status, decoded JSON or None). Connection errors raise URLError or OSError."""
        data = json.dumps(body) if body is not None else None
        try:
            r = open_url(self.base + path, method=method, data=data, **self.kw)
            status, raw = r.getcode(), r.read()
        except HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None
