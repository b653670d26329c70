"""The outbound proxy: libcurl's NO_PROXY rules, the proxy URL's checks, the route check
against Orthanc's own proxy, and how a refusing proxy's answer becomes an error code."""

from __future__ import annotations

import pytest

from orthanc_dicomweb_oauth.loader.config import check_config
from orthanc_dicomweb_oauth.loader.orthanc_settings import judge
from orthanc_dicomweb_oauth.loader.proxy import ProxyConfig, goes_direct, route_conflicts
from orthanc_dicomweb_oauth.loader.redaction import REDACTOR, Secret
from orthanc_dicomweb_oauth.runtime.http import proxy_error

OK = {"Url": "https://dicom.example.org/dicom-web", "TokenEndpoint": "https://idp.example.org/token",
      "ClientId": "orthanc", "ClientSecret": "s3cr3t-value-123"}
PROXY = {"Url": "http://proxy.hospital.lan:3128", "Username": "orthanc", "Password": "pr0xy-pass@:/%"}


@pytest.mark.parametrize("host,entries,direct", [
    ("example.org", ["example.org"], True),
    ("pacs.example.org", ["example.org"], True),
    ("pacs.example.org", [".example.org"], True),
    ("PACS.Example.ORG.", ["example.org"], True),
    ("badexample.org", ["example.org"], False),  # requests would say True: libcurl does not
    ("example.org.evil.test", ["example.org"], False),
    ("anything.test", ["*"], True),
    ("10.1.2.3", ["10.0.0.0/8"], True),
    ("10.1.2.3", ["10.1.2.3"], True),
    ("11.1.2.3", ["10.0.0.0/8"], False),
    ("fd00::5", ["fd00::/8"], True),
    ("ten.example.org", ["10.0.0.0/8"], False),
    ("idp.example.org", [], False),
    # never through a proxy, whatever the list says
    ("localhost", [], True), ("127.0.0.1", [], True), ("::1", [], True), ("127.1", [], True),
    ("169.254.169.254", [], True), ("metadata.google.internal", [], True),
])
def test_no_proxy_follows_libcurl(host, entries, direct):
    assert goes_direct(host, entries) is direct


def test_credentials_reach_the_proxy_url_encoded_and_are_redacted():
    proxy = ProxyConfig(PROXY["Url"], "orthanc", Secret(PROXY["Password"]), ("pacs.hospital.lan",))
    via = proxy.for_url("https://idp.example.org/token")
    assert via == "http://orthanc:pr0xy-pass%40%3A%2F%25@proxy.hospital.lan:3128"
    assert proxy.for_url("https://pacs.hospital.lan/dicom-web") is None
    assert proxy.for_url("http://127.0.0.1:8042/x") is None
    assert "pr0xy" not in REDACTOR.redact(f"proxy {via} said no") and "pr0xy" not in repr(proxy)


def codes(section):
    _cfg, errors = check_config(section, environ={})
    return sorted(e.code for e in errors), errors


@pytest.mark.parametrize("proxy,code", [
    ({"Url": "http://orthanc:pw-in-url-77@proxy.lan:3128"}, "SEC-008"),
    ({"Url": "http://proxy.lan"}, "CFG-002"),
    ({"Url": "http://proxy.lan:3128", "Password": "only-a-password"}, "CFG-002"),
    ({"Url": "socks5://proxy.lan:1080"}, "CFG-002"),
    ({"Url": "http://proxy.lan:3128", "Typo": 1}, "CFG-002"),
])
def test_bad_proxies_are_refused_globally_and_per_server(proxy, code):
    for section in ({"Servers": {"r": OK}, "Proxy": proxy}, {"Servers": {"r": {**OK, "Proxy": proxy}}}):
        got, errors = codes(section)
        assert got == [code], errors
        assert all("pw-in-url-77" not in e.message for e in errors)


def test_a_servers_proxy_replaces_the_global_one_and_false_is_direct():
    section = {"Proxy": PROXY, "Servers": {"a": OK, "b": {**OK, "Proxy": {"Url": "http://other.lan:8080"}},
                                           "c": {**OK, "Proxy": False}}}
    cfg, errors = check_config(section, environ={})
    assert errors == [] and cfg is not None
    a, b, c = cfg.servers["a"], cfg.servers["b"], cfg.servers["c"]
    assert (a.proxy.url, a.proxy.username, a.proxy_explicit) == (PROXY["Url"], "orthanc", True)
    assert (b.proxy.url, b.proxy.username, b.proxy_explicit) == ("http://other.lan:8080", None, True)
    assert (c.proxy, c.proxy_explicit) == (None, True)
    cfg, _ = check_config({"Servers": {"a": OK}}, environ={})
    assert (cfg.servers["a"].proxy, cfg.servers["a"].proxy_explicit) == (None, False)  # the environment's


@pytest.mark.parametrize("http_proxy,own,environ,conflict", [
    (None, None, {}, False),
    (None, None, {"https_proxy": "http://p.lan:3128"}, False),  # both follow the environment
    ("p.lan:3128", {"Url": "http://p.lan:3128"}, {}, False),
    ("http://u:${X}@p.lan:3128", {"Url": "http://P.LAN:3128"}, {}, False),
    (None, {"Url": "http://p.lan:3128"}, {"https_proxy": "http://u:pw@p.lan:3128"}, False),  # the collection's way
    (None, {"Url": "http://p.lan:3128"}, {"HTTPS_PROXY": "http://p.lan:3128"}, False),
    ("p.lan", {"Url": "http://p.lan:3128"}, {}, True),  # libcurl's default port is 1080
    ("p.lan:3128", None, {}, True),
    (None, {"Url": "http://p.lan:3128"}, {}, True),
    ("http://u:secret-in-proxy@other.lan:3128", {"Url": "http://p.lan:3128"}, {}, True),
    (None, {"Url": "http://p.lan:3128"}, {"https_proxy": "http://q.lan:3128"}, True),
])
def test_the_plugin_and_orthanc_must_leave_by_the_same_proxy(http_proxy, own, environ, conflict):
    full = {"DicomWebOAuth": {"Servers": {"r": OK}, **({"Proxy": own} if own else {})}}
    if http_proxy:
        full["HttpProxy"] = http_proxy
    errors = route_conflicts(full, environ)
    assert [e.code for e in errors] == (["CFG-010"] if conflict else [])
    assert all("secret-in-proxy" not in e.message for e in errors)
    cfg, judged = judge(full, {}, service_environ=environ)
    assert ("CFG-010" in [e.code for e in judged]) is conflict and (cfg is None) is conflict


@pytest.mark.parametrize("text,code,retryable", [
    ("Tunnel connection failed: 407 Proxy Authentication Required", "NET-009", False),
    ("Tunnel connection failed: 403 Forbidden", "NET-010", False),
    ("Tunnel connection failed: 503 Service Unavailable", "NET-010", False),
    ("Failed to establish a new connection: [Errno 111] Connection refused", "NET-008", True),
])
def test_a_proxys_answer_is_its_own_code(text, code, retryable):
    err = proxy_error("r", "https://idp.example.org/token", OSError(f"Cannot connect to proxy. {text}"))
    assert (err.code, err.retryable) == (code, retryable)
    assert "idp.example.org" in err.message
