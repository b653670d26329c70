"""Orthanc entry point of dicomweb_oauth.orthanc: name this file in ``PythonScript``.

It loads the ``orthanc_dicomweb_oauth`` package from the directory this file sits in (where the
oauth_plugin role installs both), reads ``DicomWebOAuth`` from Orthanc's configuration and
registers the plugin. A refused configuration is logged with its error code and leaves Orthanc
serving; the plugin's status endpoint reports it."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

import orthanc  # noqa: E402  (provided by orthanc-python)

from orthanc_dicomweb_oauth.runtime.orthanc_plugin import register  # noqa: E402

RUNTIME = register(orthanc)
