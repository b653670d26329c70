"""TLS material for test servers, made at test time."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any


def self_signed(directory: Path, name: str = "server", hosts: tuple[str, ...] = ("127.0.0.1",)) -> tuple[str, str]:
    """A self-signed certificate for ``hosts`` (addresses or DNS names; it is its own CA) and its
    key: (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = _new_key()
    cert = (_builder(key, _name(hosts[0]), hosts)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return _write(directory, name, cert, key)


def _new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(key: Any, issuer: Any, hosts: tuple[str, ...]) -> Any:
    """A certificate for ``hosts`` valid for a day (from five minutes ago), issued by ``issuer``."""
    from cryptography import x509

    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False))


def _write(directory: Path, name: str, cert: Any, key: Any) -> tuple[str, str]:
    """<name>.pem and <name>.key (owner only) in ``directory``: (cert, key)."""
    from cryptography.hazmat.primitives import serialization

    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return str(cert_file), str(key_file)


def _san(host: str) -> Any:
    import ipaddress

    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def signed_by(ca: tuple[str, str], directory: Path, name: str, hosts: tuple[str, ...]) -> tuple[str, str]:
    """A certificate for ``hosts`` signed by ``ca`` (a (cert, key) pair from ``self_signed``),
    usable as a server and as a client certificate: (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_cert = x509.load_pem_x509_certificate(Path(ca[0]).read_bytes())
    ca_key = serialization.load_pem_private_key(Path(ca[1]).read_bytes(), password=None)
    key = _new_key()
    cert = (_builder(key, ca_cert.subject, hosts)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _write(directory, name, cert, key)
