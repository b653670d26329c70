"""OAuth2 bearer tokens for Orthanc's DICOMweb client (dicomweb_oauth.orthanc)."""

__version__ = "0.1.0"
API_VERSION = 1
