"""Keys and self-signed certificates for AS2 tests, made with cryptography (no files committed)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def key_and_certificate(name: str, *, days: int = 365, not_before_days: int = 1) -> tuple[bytes, bytes]:
    """A 2048-bit RSA key (PEM, unencrypted) and a self-signed certificate for ``name`` (PEM), also
    valid as a TLS server certificate for 127.0.0.1."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, name)]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=not_before_days))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def write_pair(folder: Path, name: str, **validity: int) -> tuple[Path, Path]:
    """``<name>.key.pem`` (key and certificate, as the engine reads our keys) and ``<name>.cert.pem``."""
    key, certificate = key_and_certificate(name, **validity)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.key.pem").write_bytes(key + certificate)
    (folder / f"{name}.cert.pem").write_bytes(certificate)
    return folder / f"{name}.key.pem", folder / f"{name}.cert.pem"
