"""Documents we owe a partner: rendered through the partner's maps, enveloped with control
numbers from the database, and recorded under the cause that made them, all in the caller's
transaction; then placed in the outbox.

A cause key names one decision (``855:order:12:event:7``), so rerunning a step after a crash
finds the document already recorded instead of writing a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from edi.x12.delimiters import Delimiters
from edi.x12.writer import GroupSpec, SegmentFields, build_interchange, write_interchange
from engine.db.session import UnitOfWork, unit_of_work
from engine.db.tables import OutboundDocument, OutboundKind
from engine.files import write_many_atomically
from engine.model import Acknowledgement, Order, ShipNotice
from engine.rules import OutboundDocument as CanonicalDocument
from engine.runtime import Runtime
from mappings.profile import Document, PartnerProfile
from mappings.x12 import ack855, ack865, asn856, po850

#: GS01 of each set we send, and the profile's name for the document it carries.
FUNCTIONAL_IDS = {"855": "PR", "865": "CA", "856": "SH", "850": "PO"}
DOCUMENT_OF_SET = {
    "855": Document.ORDER_ACK,
    "865": Document.CHANGE_ACK,
    "856": Document.SHIP_NOTICE,
    "850": Document.ORDER,
}


class OutboundError(RuntimeError):
    """A document cannot be sent to this partner (no X12 identity, a document it does not take)."""


@dataclass(frozen=True)
class Rendered:
    set_id: str
    segments: Sequence[SegmentFields]


def render(document: CanonicalDocument, profile: PartnerProfile, order: Order | None, *, now: datetime) -> Rendered:
    """The transaction set for a canonical document, as this partner wants it, made ``now``."""
    if isinstance(document, ShipNotice):
        version = _version_of(profile, "856")
        return Rendered("856", asn856.write_ship_notice(document, profile, version=version, created=now))
    if isinstance(document, Order):  # a purchase order we place with a supplier
        return Rendered("850", po850.write_order(document, profile, version=_version_of(profile, "850")))
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
    [bundle] = prepare_bundles(uow, runtime, profile, [Owed(cause_key, document, order, order_id)], now=now, size=1)
    return uow.outbound.add(**bundle.documents[0])


@dataclass(frozen=True)
class Owed:
    """A document owed to a partner, under its cause, with the order it answers (and that order's row)."""

    cause_key: str
    document: CanonicalDocument
    order: Order | None = None
    order_id: int | None = None


@dataclass(frozen=True)
class Bundle:
    """``OutboundRepository.add_bundles``'s arguments: documents sent in one interchange, and the carrier
    that holds the interchange when there are several (None when a document travels alone)."""

    carrier: dict[str, Any] | None
    documents: list[dict[str, Any]]


def prepare_bundles(
    uow: UnitOfWork,
    runtime: Runtime,
    profile: PartnerProfile,
    owed: Sequence[Owed],
    *,
    now: datetime,
    size: int | None = None,
) -> list[Bundle]:
    """Render ``owed`` and envelope them, ``size`` sets per interchange (the partner's
    ``envelopes.sets_per_interchange`` by default). One per interchange, they keep the order given;
    more, documents of one set and usage go together, in the order given. Control numbers are
    taken in the order of the interchanges returned."""
    if profile.x12 is None:
        raise OutboundError(f"partner {profile.id} has no X12 identity to send a document to")
    size = size or profile.envelopes.sets_per_interchange
    hooks = runtime.partners.hooks(profile.id)
    together: dict[tuple[str, bool] | int, list[tuple[Owed, Sequence[SegmentFields]]]] = {}
    kinds: dict[tuple[str, bool] | int, tuple[str, bool]] = {}
    for index, item in enumerate(owed):
        rendered = render(item.document, profile, item.order, now=now)
        test = bool(getattr(item.document, "test", False)) or profile.usage == "T"
        key = (rendered.set_id, test) if size > 1 else index
        kinds[key] = (rendered.set_id, test)
        together.setdefault(key, []).append((item, hooks.adjust_outbound(rendered.segments)))
    return [
        _bundle(uow, runtime, profile, *kinds[key], items[start : start + size], now)
        for key, items in together.items()
        for start in range(0, len(items), size)
    ]


def _bundle(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, set_id: str, test: bool,
    items: Sequence[tuple[Owed, Sequence[SegmentFields]]], now: datetime,
) -> Bundle:  # fmt: skip
    assert profile.x12 is not None
    us = runtime.workspace.settings.us
    spec = GroupSpec(
        FUNCTIONAL_IDS[set_id], _version_of(profile, set_id), [segments for _, segments in items],
        sender=us.gs_code, receiver=profile.x12.gs_code,
    )  # fmt: skip
    ich = build_interchange(
        (us.isa_qualifier, us.isa_id),
        profile.x12.interchange,
        [spec],
        control_numbers=uow.control_numbers,
        usage="T" if test else "P",
        now=now,
        delimiters=_delimiters(profile),
    )
    data = write_interchange(ich, line_break=profile.delimiters.line_break)
    group = ich.groups[0]
    common = {
        "partner_id": profile.id,
        "kind": OutboundKind(set_id),
        "sender": f"{us.isa_qualifier}:{us.isa_id}",
        "receiver": f"{profile.x12.isa_qualifier}:{profile.x12.isa_id}",
        "interchange_control_number": int(ich.control_number),
        "group_control_number": int(group.control_number),
        "file_name": f"{profile.id}-{set_id}-{ich.control_number}.x12",
        "due_at": now + timedelta(hours=profile.deadlines.functional_ack_expected_hours),
        "at": now,
    }
    alone = len(items) == 1
    documents = [
        {**common, "cause_key": item.cause_key, "content": data if alone else b"", "order_id": item.order_id,
         "set_control_number": int(ts.control_number)}
        for (item, _), ts in zip(items, group.sets, strict=True)
    ]  # fmt: skip
    carrier = None if alone else {**common, "cause_key": f"bundle:{items[0][0].cause_key}", "content": data}
    return Bundle(carrier, documents)


def _delimiters(profile: PartnerProfile) -> Delimiters:
    """The delimiters we write to this partner with."""
    ours = profile.delimiters
    return Delimiters(element=ours.element, component=ours.component, segment=ours.segment, repetition=ours.repetition)


def _version_of(profile: PartnerProfile, set_id: str) -> str:
    return profile.version_of(DOCUMENT_OF_SET[set_id])


@dataclass(frozen=True)
class InterchangeHeader:
    """What a reply needs of an inbound ISA: who sent it to whom, its number, date, time, version, usage."""

    sender: tuple[str, str]  # ISA05, ISA06
    receiver: tuple[str, str]  # ISA07, ISA08
    control_number: str  # ISA13
    date: str  # ISA09
    time: str  # ISA10
    version: str  # ISA12
    test: bool  # ISA15 T


def record_interchange_ack(
    uow: UnitOfWork,
    runtime: Runtime,
    profile: PartnerProfile,
    *,
    answering: InterchangeHeader,
    code: str,
    cause_key: str,
    interchange_id: int,
    now: datetime,
) -> OutboundDocument:
    """A TA1 rejecting an inbound interchange envelope with TA105 ``code``, recorded once for ``cause_key``.

    It goes back from the interchange's receiver to its sender, in its ISA12 version and usage
    (T when the partner is in test mode), with ISA13, ISA09 and ISA10 copied into TA101..TA103 (X12.5).
    """
    existing = uow.outbound.for_cause(cause_key)
    if existing is not None:
        return existing
    usage = "T" if answering.test or profile.usage == "T" else "P"
    ich = build_interchange(
        answering.receiver,
        answering.sender,
        [],
        ta1s=[["TA1", answering.control_number, answering.date, answering.time, "R", code]],
        control_numbers=uow.control_numbers,
        usage=usage,
        now=now,
        delimiters=_delimiters(profile),
        interchange_version=answering.version,
    )
    data = write_interchange(ich, line_break=profile.delimiters.line_break)
    return uow.outbound.add(
        partner_id=profile.id,
        kind=OutboundKind.INTERCHANGE_ACK,
        cause_key=cause_key,
        content=data,
        sender=":".join(answering.receiver),
        receiver=":".join(answering.sender),
        interchange_control_number=int(ich.control_number),
        file_name=f"{profile.id}-TA1-{ich.control_number}.x12",
        interchange_id=interchange_id,
        at=now,
    )


#: How many documents ``flush_outbox`` places and marks sent per transaction.
FLUSH_BATCH = 200


def flush_outbox(
    runtime: Runtime, *, partner_ids: Collection[str] | None = None, after_each: Callable[[Path], None] | None = None
) -> list[str]:
    """Place every pending document of a partner with local folders (of these partners, when
    named) in its outbox folder (atomically); say which. Documents for partners with a remote
    mailbox wait for ``engine.mailboxes.deliver``.

    Runs after the transaction that recorded the documents: a crash before it leaves them
    pending, and the next run writes the same bytes under the same names. Documents are placed
    ``FLUSH_BATCH`` at a time, each batch in a transaction of its own that holds their rows: the
    files are written together (``engine.files.write_many_atomically``), and the batch marked
    sent with one statement.
    A crash in the middle rewrites at most the files of one batch that were written and not yet
    marked (same name, same bytes, same ISA13: the partner's duplicate check drops them), and
    two workers flushing at once never both write one document. ``after_each`` is called with
    each file placed, before it is marked sent.
    """
    folders = {
        partner_id: local_outbox(runtime, partner_id)
        for partner_id in (runtime.partners if partner_ids is None else partner_ids)
    }
    local = {partner_id for partner_id, folder in folders.items() if folder is not None}
    with unit_of_work(runtime.sessions) as uow:
        waiting = uow.outbound.pending_ids(local)
    placed: list[str] = []
    for start in range(0, len(waiting), FLUSH_BATCH):
        with unit_of_work(runtime.sessions) as uow:
            documents = uow.outbound.hold_pending(waiting[start : start + FLUSH_BATCH])
            files = [
                (
                    folders[d.partner_id] or runtime.workspace.outbox_dir,
                    d.file_name or f"document-{d.id}.x12",
                    d.content,
                )
                for d in documents  # another worker may have placed some meanwhile: they are not held
            ]
            placed += [str(path) for path in write_many_atomically(files, placed=after_each)]
            uow.outbound.mark_sent_many([document.id for document in documents], at=runtime.now())
    return placed


def local_outbox(runtime: Runtime, partner_id: str) -> Path | None:
    """The partner's outbox folder when its mailbox is local folders (the profile's, else
    ``<workspace outbox>/<partner id>``); None for a remote mailbox."""
    mailbox = runtime.partners[partner_id].mailbox
    if mailbox.kind != "local":
        return None
    return runtime.workspace.path(mailbox.outbox) if mailbox.outbox else runtime.workspace.outbox_dir / partner_id
