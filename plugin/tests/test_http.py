"""The HTTP layer's reading of Retry-After."""

from __future__ import annotations

from orthanc_dicomweb_oauth.runtime.http import parse_retry_after


def test_parse_retry_after():
    assert parse_retry_after("3") == 3
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
