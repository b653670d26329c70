"""The tls_problems filter, which the tls_front role runs on the controller before it writes a
certificate: each problem found, none for a good pair, never key material in a message."""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from testenv.tls import self_signed, signed_by
from tests.helpers.collection import ROOT

spec = importlib.util.spec_from_file_location("tls_problems", ROOT / "plugins/filter/tls_problems.py")
assert spec and spec.loader
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
problems = mod.tls_problems


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = self_signed(d, "ca", ("test CA",))
    good = signed_by(ca, d, "good", ("pacs.example.org", "10.1.2.3"))
    other = signed_by(ca, d, "other", ("other.example.org",))
    return {name: (Path(c).read_text(), Path(k).read_text()) for name, (c, k) in (("good", good), ("other", other))}


def expired(tmp_path: Path) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old.example.org")])
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(past).not_valid_after(past + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("old.example.org")]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def test_good_pair_for_a_name_or_an_address(pki):
    cert, key = pki["good"]
    assert problems(cert, key, ["pacs.example.org"]) == []
    assert problems(cert, key, ["10.1.2.3"]) == []
    assert problems(cert + pki["other"][0], key, ["pacs.example.org"]) == []  # a chain after it


def test_each_problem(pki, tmp_path):
    cert, key = pki["good"]
    assert problems(cert, pki["other"][1], []) == ["the private key does not belong to the certificate"]
    assert problems(cert, key, ["gw.example.org"]) == [
        "the certificate covers none of gw.example.org (its subjectAltName)"]
    assert problems("not a certificate", key) == ["the certificate is not a PEM certificate"]
    assert problems(cert, "not a key") == ["the private key is not an unencrypted PEM private key"]
    old_cert, old_key = expired(tmp_path)
    found = problems(old_cert, old_key, ["old.example.org"])
    assert len(found) == 1 and found[0].startswith("the certificate expired on 2020-01-02")
    for text in found + problems(cert, pki["other"][1], ["x"]):
        assert "PRIVATE" not in text and key.splitlines()[1] not in text
