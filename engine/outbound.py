"""Documents we owe a partner: rendered through the partner's maps, enveloped with control
numbers from the database, and recorded under the cause that made them, all in the caller's
transaction; then placed in the outbox.

A cause key names one decision (``855:order:12:event:7``), so rerunning a step after a crash
finds the document already recorded instead of writing a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from edi.x12.delimiters import Delimiters
from edi.x12.writer import GroupSpec, SegmentFields, build_interchange, write_interchange
from engine.db.session import UnitOfWork, unit_of_work
from engine.db.tables import OutboundDocument, OutboundKind
from engine.files import write_atomically
from engine.model import Acknowledgement, Order, ShipNotice
from engine.rules import OutboundDocument as CanonicalDocument
from engine.runtime import Runtime
from mappings.profile import Document, PartnerProfile
from mappings.x12 import ack855, ack865, asn856

#: GS01 of each set we send, and the profile's name for the document it carries.
FUNCTIONAL_IDS = {"855": "PR", "865": "CA", "856": "SH"}
DOCUMENT_OF_SET = {"855": Document.ORDER_ACK, "865": Document.CHANGE_ACK, "856": Document.SHIP_NOTICE}


class OutboundError(RuntimeError):
    """A document cannot be sent to this partner (no X12 identity, a document it does not take)."""


@dataclass(frozen=True)
class Rendered:
    set_id: str
    segments: Sequence[SegmentFields]


def render(document: CanonicalDocument, profile: PartnerProfile, order: Order | None) -> Rendered:
    """The transaction set for a canonical document, as this partner wants it."""
    if isinstance(document, ShipNotice):
        return Rendered("856", asn856.write_ship_notice(document, profile, version=_version_of(profile, "856")))
    set_id = _acknowledgement_set(document, profile)
    version = _version_of(profile, set_id)
    if set_id == "865":
        return Rendered("865", ack865.write_ack(document, profile, version=version))
    return Rendered("855", ack855.write_ack(document, profile, version=version, order=order))


def _acknowledgement_set(ack: Acknowledgement, profile: PartnerProfile) -> str:
    """855 or 865: an answer to a change goes as the partner's profile says."""
    if not ack.of_change:
        return "855"
    return "865" if profile.capabilities.retailer_cancel_ack_document == "865" else "855"


def record(
    uow: UnitOfWork,
    runtime: Runtime,
    profile: PartnerProfile,
    document: CanonicalDocument,
    *,
    cause_key: str,
    order: Order | None = None,
    order_id: int | None = None,
    now: datetime,
) -> OutboundDocument:
    """Render, envelope and record ``document`` once for ``cause_key`` (a rerun finds it recorded)."""
    existing = uow.outbound.for_cause(cause_key)
    if existing is not None:
        return existing
    if profile.x12 is None:
        raise OutboundError(f"partner {profile.id} has no X12 identity to send a document to")
    rendered = render(document, profile, order)
    segments = runtime.partners.hooks(profile.id).adjust_outbound(rendered.segments)
    us = runtime.workspace.settings.us
    delimiters = profile.delimiters
    version = _version_of(profile, rendered.set_id)
    test = bool(getattr(document, "test", False)) or profile.usage == "T"
    ich = build_interchange(
        (us.isa_qualifier, us.isa_id),
        profile.x12.interchange,
        [
            GroupSpec(
                FUNCTIONAL_IDS[rendered.set_id], version, [segments], sender=us.gs_code, receiver=profile.x12.gs_code
            )
        ],
        control_numbers=uow.control_numbers,
        usage="T" if test else "P",
        now=now,
        delimiters=Delimiters(
            element=delimiters.element,
            component=delimiters.component,
            segment=delimiters.segment,
            repetition=delimiters.repetition,
        ),
    )
    data = write_interchange(ich, line_break=delimiters.line_break)
    group = ich.groups[0]
    isa13, gs06, st02 = ich.control_number, group.control_number, group.sets[0].control_number
    return uow.outbound.add(
        partner_id=profile.id,
        kind=OutboundKind(rendered.set_id),
        cause_key=cause_key,
        content=data,
        sender=f"{us.isa_qualifier}:{us.isa_id}",
        receiver=f"{profile.x12.isa_qualifier}:{profile.x12.isa_id}",
        interchange_control_number=int(isa13),
        group_control_number=int(gs06),
        set_control_number=int(st02),
        file_name=f"{profile.id}-{rendered.set_id}-{isa13}.x12",
        due_at=now + timedelta(hours=profile.deadlines.functional_ack_expected_hours),
        order_id=order_id,
        at=now,
    )


def _version_of(profile: PartnerProfile, set_id: str) -> str:
    return profile.version_of(DOCUMENT_OF_SET[set_id])


def flush_outbox(runtime: Runtime) -> list[str]:
    """Place every pending document in its partner's outbox folder (atomically); say which.

    Runs after the transaction that recorded the documents: a crash before it leaves them
    pending, and the next run writes the same bytes under the same name.
    """
    placed: list[str] = []
    with unit_of_work(runtime.sessions) as uow:
        for document in uow.outbound.pending():
            folder = runtime.workspace.outbox_dir / document.partner_id
            path = write_atomically(folder, document.file_name or f"document-{document.id}.x12", document.content)
            uow.outbound.mark_sent(document.id, at=runtime.now())
            placed.append(str(path))
    return placed
