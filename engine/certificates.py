"""The certificates each AS2 partner's agreement uses, theirs and ours, for ``edi-engine partners``
and the certificate alerts (without loading pyas2lib: nothing is decrypted or signed here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.runtime import Runtime
from mappings.profile import As2Server
from transport.certificates import CertificateError, CertificateInfo, read_certificates

Whose = Literal["theirs", "ours"]


@dataclass(frozen=True)
class PartnerCertificate:
    partner_id: str
    whose: Whose
    certificate: CertificateInfo | None
    error: str | None = None  # the file could not be read


def partner_certificates(runtime: Runtime) -> list[PartnerCertificate]:
    """Every certificate file an AS2 partner's profile names (theirs) or uses of ours (its own
    ``our_keys``, else the workspace's ``[as2] keys``), each certificate in it once."""
    found: list[PartnerCertificate] = []
    ours = runtime.workspace.settings.as2
    for partner_id, profile in sorted(runtime.partners.items()):
        settings = profile.mailbox
        if not isinstance(settings, As2Server):
            continue
        folder = runtime.partners.folder(partner_id)
        files: list[tuple[Whose, Path]] = [("theirs", folder / name) for name in settings.certificates]
        if settings.our_keys:
            files += [("ours", folder / key.file) for key in settings.our_keys]
        else:
            files += [("ours", runtime.workspace.root / key.file) for key in ours.keys]
        for whose, path in files:
            try:
                found += [PartnerCertificate(partner_id, whose, info) for info in read_certificates(path)]
            except CertificateError as error:
                found.append(PartnerCertificate(partner_id, whose, None, str(error)))
    return found
