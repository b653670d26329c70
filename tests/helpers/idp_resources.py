"""Names the test OpenID provider uses for its resource servers."""

from testenv.idp import DICOM_RESOURCE

DICOM_AUDIENCE = DICOM_RESOURCE
