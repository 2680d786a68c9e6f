"""What a certificate file holds, as people need to see it: subject, validity and fingerprint.

Used for AS2 partners' certificates and our own, so that ``edi-engine partners`` (and the alerts)
can warn before one expires: an expired certificate stops every message with that partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

#: Warn this many days before a certificate expires.
WARN_DAYS = 30


@dataclass(frozen=True)
class CertificateInfo:
    path: str
    subject: str
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the DER, hex

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now).days

    def warning(self, now: datetime, *, days: int = WARN_DAYS) -> str | None:
        """A sentence when the certificate is expired, not yet valid, or expires within ``days``."""
        if now >= self.not_after:
            return f"EXPIRED on {self.not_after:%Y-%m-%d}"
        if now < self.not_before:
            return f"not valid before {self.not_before:%Y-%m-%d}"
        left = self.days_left(now)
        if left < days:
            return f"expires in {left} day{'s' if left != 1 else ''}, on {self.not_after:%Y-%m-%d}"
        return None


class CertificateError(ValueError):
    """A file that holds no readable certificate; the message names it."""


def read_certificates(path: Path) -> list[CertificateInfo]:
    """Every certificate in a PEM file (a key in the same file is skipped, never read)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CertificateError(f"cannot read {path}: {error.strerror}") from error
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise CertificateError(f"{path} holds no PEM certificate ({error})") from error
    return [
        CertificateInfo(
            path=str(path),
            subject=certificate.subject.rfc4514_string(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            fingerprint=certificate.fingerprint(hashes.SHA256()).hex(":"),
        )
        for certificate in certificates
    ]
