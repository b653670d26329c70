"""The tls_front role's nginx.conf (rendered from the role, accepted by nginx -t) run by this
machine's nginx in front of a real Orthanc with the plugin: DICOMweb through verified TLS with
HSTS; TLS 1.0 and 1.1 refused where 1.2 and 1.3 pass; plain HTTP refused on the front's port and,
from an address other than loopback, on Orthanc's own port; a 50 MB body to the plugin's REST
API refused by nginx before Orthanc sees it, whether announced or chunked, while DICOMweb bodies
of that size go through. The same from another host: molecule scenario tls."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
import requests

from testenv.process import free_port
from testenv.tls import self_signed
from tests.e2e.conftest import CREDENTIALS
from tests.helpers.dicom import ct_series, multipart
from tests.helpers.tls_front import RoleFront

pytestmark = pytest.mark.real
AUTH = CREDENTIALS
MB = 1024 * 1024


@pytest.fixture(scope="module")
def front_tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("front-tls")
    cert, key = self_signed(d, "front", ("orthanc.front.test", "127.0.0.1"))
    return cert, key


@pytest.fixture
def front(make_source, front_tls, tmp_path):
    src = make_source()
    cert, key = front_tls
    port = free_port()
    variables = {"tls_front_addresses": ["127.0.0.1"], "tls_front_port": port, "tls_front_upstream_port": src.port,
                 "tls_front_server_names": ["orthanc.front.test"], "tls_front_certificate_file": cert,
                 "tls_front_private_key_file": key}
    with RoleFront(tmp_path, variables) as f:
        f.base = f"https://127.0.0.1:{port}"
        f.ca = cert
        f.source = src
        yield f


def test_dicomweb_through_the_front_with_verified_tls_and_hsts(front):
    series = ct_series(3, size=256)
    body, ctype = multipart(series)
    s = requests.Session()
    s.auth, s.verify, s.trust_env = AUTH, front.ca, False  # REQUESTS_CA_BUNDLE would replace verify
    stow = s.post(f"{front.base}/dicom-web/studies", data=body, headers={"Content-Type": ctype}, timeout=60)
    assert stow.status_code == 200, stow.text[:300]
    assert stow.headers["Strict-Transport-Security"] == "max-age=31536000"
    study = stow.json()["00081190"]["Value"][0].rsplit("/studies/", 1)[1]
    qido = s.get(f"{front.base}/dicom-web/studies", params={"StudyInstanceUID": study}, timeout=30)
    assert qido.status_code == 200 and len(qido.json()) == 1
    wado = s.get(f"{front.base}/dicom-web/studies/{study}", headers={"Accept": "multipart/related; type=application/dicom"},
                 timeout=60)
    assert wado.status_code == 200 and wado.content.count(b"DICM") == 3
    # Orthanc (RemoteAccessAllowed false) served every request: it saw them come from 127.0.0.1.
    assert s.get(f"{front.base}/system", timeout=10).json()["Name"] == front.source.name


def _handshake(port: int, version: ssl.TLSVersion) -> str:
    """The protocol negotiated when the client offers only ``version``, or the error."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that this client does offer TLS 1.0 and 1.1
    ctx.minimum_version = ctx.maximum_version = version
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
            return str(tls.version())
    except (ssl.SSLError, ConnectionResetError) as e:
        return f"refused: {e}"


def test_only_tls_12_and_13(front):
    got = {v.name: _handshake(front.port, v) for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1,
                                                       ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)}
    assert got["TLSv1_2"] == "TLSv1.2" and got["TLSv1_3"] == "TLSv1.3", got
    assert got["TLSv1"].startswith("refused") and got["TLSv1_1"].startswith("refused"), got
    # The refusal is the server's: it answers with an alert, the client did send its hello.
    assert "ALERT" in got["TLSv1_1"].upper() or "UNSUPPORTED" in got["TLSv1_1"].upper(), got


def _local_address() -> str:
    out = subprocess.run(["ip", "-4", "route", "get", "192.0.2.1"], capture_output=True, text=True).stdout.split()
    return out[out.index("src") + 1] if "src" in out else ""


def test_plain_http_refused(front):
    plain = requests.get(f"http://127.0.0.1:{front.port}/system", auth=AUTH, timeout=10)
    assert plain.status_code == 400 and "plain HTTP request was sent to HTTPS port" in plain.text
    address = _local_address()
    if not address:
        pytest.skip("this machine has no address besides loopback")
    # Orthanc's own port answers every address (no bind setting) but refuses all but loopback,
    # valid credentials or not (Orthanc answers 401 there).
    direct = requests.get(f"http://{address}:{front.source.port}/system", auth=AUTH, timeout=10)
    assert direct.status_code in (401, 403)
    assert requests.get(f"http://127.0.0.1:{front.source.port}/system", auth=AUTH, timeout=10).status_code == 200


def test_plugin_route_takes_small_bodies_only(front):
    s = requests.Session()
    s.auth, s.verify, s.trust_env = AUTH, front.ca, False  # REQUESTS_CA_BUNDLE would replace verify
    url = f"{front.base}/dicomweb-oauth/servers/remote/test"
    announced = s.post(url, data=b"\0" * (50 * MB), timeout=60)
    assert announced.status_code == 413 and "nginx" in announced.text

    def chunks():
        for _ in range(50):
            yield b"\0" * MB

    chunked = s.post(url, data=chunks(), timeout=60)
    assert chunked.status_code == 413 and "nginx" in chunked.text
    small = s.post(url, timeout=60)  # the route works through the front
    assert small.status_code in (200, 502, 503) and "nginx" not in small.text, small.text[:200]
    # A DICOMweb body of that size is Orthanc's to judge (here: not a multipart body, 4xx from it).
    big = s.post(f"{front.base}/dicom-web/studies", data=b"\0" * (50 * MB),
                 headers={"Content-Type": "multipart/related; type=\"application/dicom\"; boundary=x"}, timeout=120)
    assert big.status_code != 413 and "nginx" not in big.text, big.status_code
