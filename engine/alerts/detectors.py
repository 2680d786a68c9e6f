"""What a person must hear about, found in the database: each detector returns ``Candidate``s.

A detector is any callable ``detector(runtime) -> Iterable[Candidate]`` in ``DETECTORS``; add
one by appending it. It may return the same condition on every run: the candidate's ``key``
names the condition, and a key already recorded is never alerted again (``engine.alerts.store``).
So a key must be stable for as long as the condition lasts, and new when a new one arises
(``mailbox_failing:<partner>:<first failure>`` rather than the latest failure's time).

Event-like conditions are looked for over the last ``lookback_days`` only (``since``), which
keeps each run's queries small; anything older was alerted already or predates alerts.
Test orders (a test interchange, a partner in test mode) are never alerted about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased, defer

from engine.certificates import partner_certificates
from engine.db.session import unit_of_work
from engine.db.tables import (
    Interchange,
    MailboxRow,
    OrderEventRow,
    OrderRow,
    OutboundDocument,
    OutboundStatus,
    QuarantineEntry,
    TransactionSet,
)
from engine.model import EventKind
from engine.runtime import Runtime
from mappings.profile_alerts import AlertKind
from transport.certificates import WARN_DAYS

#: Documents listed in one alert; the rest are counted.
MOST_LISTED = 20


@dataclass(frozen=True)
class Candidate:
    """A condition a person should hear about, as a detector found it.

    ``key`` names the condition (``<kind>:<what>``, e.g. ``rejected_997:42``): the same condition
    found again must have the same key. ``occurred_at`` is when it arose (an aware UTC time).
    ``subject`` is one line; ``text`` says what happened and what to do about it.
    """

    key: str
    kind: AlertKind
    partner_id: str | None
    subject: str
    text: str
    occurred_at: datetime


Detector = Callable[[Runtime], Iterable[Candidate]]


def since(runtime: Runtime) -> datetime:
    """The oldest moment detection looks at (``[alerts] lookback_days`` before now)."""
    return runtime.now() - timedelta(days=runtime.workspace.settings.alerts.lookback_days)


def partner_name(runtime: Runtime, partner_id: str | None) -> str:
    profile = runtime.partners.get(partner_id) if partner_id else None
    return profile.name if profile is not None else partner_id or "an unknown sender"


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _amount(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number.normalize():f}"


# -- retailers' cancels and changes -------------------------------------------------------------------
def _events(runtime: Runtime, kind: EventKind) -> list[tuple[OrderEventRow, OrderRow]]:
    with unit_of_work(runtime.sessions) as uow:
        query = (
            select(OrderEventRow, OrderRow)
            .join(OrderRow, OrderRow.id == OrderEventRow.order_id)
            .where(OrderEventRow.kind == kind, OrderEventRow.at >= since(runtime), OrderRow.test.is_(False))
            .order_by(OrderEventRow.id)
        )
        return [(event, order) for event, order in uow.session.execute(query).all()]


def _document_note(detail: dict[str, Any]) -> list[str]:
    lines = []
    if detail.get("reason"):
        lines.append(f"Reason: {detail['reason']}")
    if detail.get("text"):
        lines.append(f"Note: {detail['text']}")
    return lines


def retailer_cancels(runtime: Runtime) -> Iterator[Candidate]:
    """A retailer's cancel (860) waits for an answer, and nothing on its lines ships until then."""
    for event, order in _events(runtime, EventKind.RETAILER_CANCEL_REQUESTED):
        name = partner_name(runtime, order.partner_id)
        detail = event.detail
        asked = [f"  line {effect['line_number']}: cancel {_amount(effect.get('quantity'))}" for effect in
                 detail.get("lines", [])]  # fmt: skip
        text = [
            f"{name} asked to cancel purchase order {order.po_number} ({when(event.at)}, "
            f"document {event.document_id or 'not named'}):",
            *(asked or ["  no line has anything left to cancel"]),
            *_document_note(detail),
            "",
            "Nothing on these lines ships until the cancel is answered:",
            f"  edi-engine cancels ack {order.po_number}",
            f'  edi-engine cancels refuse {order.po_number} --partner {order.partner_id} --reason "..."',
        ]
        yield Candidate(
            key=f"{AlertKind.RETAILER_CANCEL}:{order.id}:{event.position}",
            kind=AlertKind.RETAILER_CANCEL,
            partner_id=order.partner_id,
            subject=f"Retailer cancel: {name} cancels PO {order.po_number}",
            text="\n".join(text),
            occurred_at=event.at,
        )


def _pending_changes(document: dict[str, Any]) -> dict[str, str]:
    """Each line's change still waiting, as ``changes list`` says it, by line number."""
    said: dict[str, str] = {}
    for line in document.get("lines", []):
        change = line.get("pending_change")
        if change:
            values = (("quantity", "quantity"), ("price", "unit_price"), ("ship date", "ship_date"))
            parts = ", ".join(f"{what} {_amount(change[field])}" for what, field in values if change.get(field))
            said[str(line.get("line_number"))] = f"{change.get('kind')} ({parts})" if parts else str(change.get("kind"))
    for line in document.get("pending_lines", []):
        price = f", price {_amount(line['unit_price'])}" if line.get("unit_price") else ""
        said[str(line.get("line_number"))] = f"add_item (quantity {_amount(line.get('ordered_qty'))}{price})"
    return said


def retailer_changes(runtime: Runtime) -> Iterator[Candidate]:
    """A retailer's change (860: quantity, price, date, added items) waits to be accepted or rejected."""
    for event, order in _events(runtime, EventKind.CHANGE_REQUESTED):
        name = partner_name(runtime, order.partner_id)
        detail = event.detail
        waiting = _pending_changes(order.document)
        asked = [
            f"  line {effect['line_number']}: "
            + waiting.get(str(effect["line_number"]), f"quantity {_amount(effect.get('quantity'))}")
            for effect in detail.get("lines", [])
        ]
        text = [
            f"{name} asked to change purchase order {order.po_number} ({when(event.at)}, "
            f"document {event.document_id or 'not named'}):",
            *(asked or ["  no line changes"]),
            *_document_note(detail),
            "",
            "Accept or reject the changes (an 865 answers either way):",
            f"  edi-engine changes accept {order.po_number} --partner {order.partner_id}",
            f"  edi-engine changes reject {order.po_number} --partner {order.partner_id}",
        ]
        yield Candidate(
            key=f"{AlertKind.RETAILER_CHANGE}:{order.id}:{event.position}",
            kind=AlertKind.RETAILER_CHANGE,
            partner_id=order.partner_id,
            subject=f"Retailer change: {name} changes PO {order.po_number}",
            text="\n".join(text),
            occurred_at=event.at,
        )


# -- documents we sent ---------------------------------------------------------------------------------
@dataclass
class _File:
    """The documents of one file we sent (a carrier's, or one document's own)."""

    id: int
    partner_id: str
    file_name: str
    documents: list[tuple[OutboundDocument, str | None]]


def _files(runtime: Runtime, *conditions: Any) -> list[_File]:
    """Our documents matching ``conditions``, by the file that carried them (carriers themselves are
    not documents: what they carry is, each with its own status)."""
    carried = aliased(OutboundDocument)
    is_carrier = exists().where(carried.bundle_id == OutboundDocument.id)
    with unit_of_work(runtime.sessions) as uow:
        query = (
            select(OutboundDocument, OrderRow.po_number)
            .outerjoin(OrderRow, OrderRow.id == OutboundDocument.order_id)
            .where(~is_carrier, *conditions)
            .order_by(OutboundDocument.id)
            .options(defer(OutboundDocument.content))
        )
        files: dict[int, _File] = {}
        for document, po_number in uow.session.execute(query).all():
            file_id = document.bundle_id or document.id
            entry = files.setdefault(
                file_id, _File(file_id, document.partner_id, document.file_name or f"document {file_id}", [])
            )
            entry.documents.append((document, po_number))
        return list(files.values())


def _listed(documents: list[tuple[OutboundDocument, str | None]]) -> list[str]:
    lines = [_document(document, po) for document, po in documents[:MOST_LISTED]]
    if len(documents) > MOST_LISTED:
        lines.append(f"  and {len(documents) - MOST_LISTED} more documents in the same file")
    return lines


def _document(document: OutboundDocument, po_number: str | None) -> str:
    order = f" for PO {po_number}" if po_number else ""
    number = f" (ST {document.set_control_number:04d})" if document.set_control_number is not None else ""
    return f"  {document.kind.value}{order}{number}"


def _kinds(documents: list[tuple[OutboundDocument, str | None]]) -> str:
    return ", ".join(sorted({document.kind.value for document, _ in documents}))


def rejected_997s(runtime: Runtime) -> Iterator[Candidate]:
    """A partner's 997/999 rejected documents we sent: the partner will not act on them."""
    acknowledged = func.coalesce(OutboundDocument.acknowledged_at, OutboundDocument.created_at)
    for file in _files(runtime, OutboundDocument.status == OutboundStatus.REJECTED, acknowledged >= since(runtime)):
        name = partner_name(runtime, file.partner_id)
        first = file.documents[0][0]
        said = first.ack_result or {}
        ack = said.get("kind", "997")
        description = said.get("description") or []
        text = [
            f"{name}'s {ack} rejected our {_kinds(file.documents)} in {file.file_name}"
            f"{f' ({when(first.acknowledged_at)})' if first.acknowledged_at else ''}:",
            *_listed(file.documents),
            *([f"What the {ack} said:"] + [f"  {line}" for line in description] if description else []),
            "",
            "The partner does not act on a rejected document: fix the cause and send it again.",
            f"  edi-engine outbox list --partner {file.partner_id} --status rejected",
        ]
        yield Candidate(
            key=f"{AlertKind.REJECTED_997}:{file.id}",
            kind=AlertKind.REJECTED_997,
            partner_id=file.partner_id,
            subject=f"{ack} rejected: {name} rejected our {_kinds(file.documents)} {file.file_name}",
            text="\n".join(text),
            occurred_at=first.acknowledged_at or first.created_at,
        )


def overdue_997s(runtime: Runtime) -> Iterator[Candidate]:
    """No 997 came by the partner's deadline for documents we sent: they may not have them."""
    now = runtime.now()
    late = or_(
        OutboundDocument.status == OutboundStatus.OVERDUE,
        (OutboundDocument.status == OutboundStatus.SENT) & (OutboundDocument.due_at < now),
    )
    for file in _files(runtime, late, OutboundDocument.due_at >= since(runtime)):
        name = partner_name(runtime, file.partner_id)
        first = file.documents[0][0]
        due = first.due_at or now
        sent = f"sent {when(first.sent_at)}, " if first.sent_at else ""
        text = [
            f"{name} has not acknowledged our {_kinds(file.documents)} in {file.file_name} ({sent}997 due {when(due)}):",
            *_listed(file.documents),
            "",
            "Check that the partner received the file, and ask for its 997.",
            f"  edi-engine outbox list --partner {file.partner_id} --status overdue",
        ]
        yield Candidate(
            key=f"{AlertKind.OVERDUE_997}:{file.id}",
            kind=AlertKind.OVERDUE_997,
            partner_id=file.partner_id,
            subject=f"997 overdue: no 997 from {name} for our {_kinds(file.documents)} {file.file_name}",
            text="\n".join(text),
            occurred_at=due,
        )


# -- inbound files and mailboxes -----------------------------------------------------------------------
def quarantined_files(runtime: Runtime) -> Iterator[Candidate]:
    """An inbound file, or some of its sets, was held for a person (unknown sender, missing order, ...)."""
    with unit_of_work(runtime.sessions) as uow:
        query = (
            select(QuarantineEntry, Interchange, TransactionSet)
            .join(Interchange, Interchange.id == QuarantineEntry.interchange_id)
            .outerjoin(TransactionSet, TransactionSet.id == QuarantineEntry.transaction_set_id)
            .where(QuarantineEntry.released_at.is_(None), QuarantineEntry.created_at >= since(runtime))
            .order_by(QuarantineEntry.id)
        )
        held: dict[int, list[tuple[QuarantineEntry, Interchange, TransactionSet | None]]] = {}
        for entry, interchange, ts in uow.session.execute(query).all():
            held.setdefault(interchange.id, []).append((entry, interchange, ts))
    for interchange_id, entries in held.items():
        interchange = entries[0][1]
        name = partner_name(runtime, interchange.partner_id) if interchange.partner_id else interchange.sender
        file = interchange.file_name or f"interchange {interchange_id}"
        reasons = [
            f"  {f'set {ts.set_id} {ts.set_control_number}' if ts is not None else 'the file'}: {entry.reason}"
            for entry, _, ts in entries[:MOST_LISTED]
        ]
        if len(entries) > MOST_LISTED:
            reasons.append(f"  and {len(entries) - MOST_LISTED} more")
        text = [
            f"{file} from {name or 'an unknown sender'} (interchange {interchange_id}, "
            f"ISA {interchange.control_number or 'unreadable'}) was held for a person:",
            *reasons,
            "",
            "Fix the cause (a partner profile, a missing order, a hook), then run it again:",
            f"  edi-engine reprocess {interchange_id}",
            "  edi-engine quarantine list",
        ]
        yield Candidate(
            key=f"{AlertKind.QUARANTINE}:{interchange_id}",
            kind=AlertKind.QUARANTINE,
            partner_id=interchange.partner_id,
            subject=f"Quarantined: {file} from {name or 'an unknown sender'}",
            text="\n".join(text),
            occurred_at=min(entry.created_at for entry, _, _ in entries),
        )


def failing_mailboxes(runtime: Runtime) -> Iterator[Candidate]:
    """A partner's mailbox has failed every poll for ``[alerts] mailbox_failing_seconds``: nothing
    arrives from it or goes to it. One alert per run of failures (a recovery ends the run)."""
    grace = timedelta(seconds=runtime.workspace.settings.alerts.mailbox_failing_seconds)
    with unit_of_work(runtime.sessions) as uow:
        rows = list(
            uow.session.scalars(
                select(MailboxRow)
                .where(MailboxRow.failing_since.is_not(None), MailboxRow.failing_since <= runtime.now() - grace)
                .order_by(MailboxRow.partner_id)
            )
        )
    for row in rows:
        assert row.failing_since is not None
        name = partner_name(runtime, row.partner_id)
        profile = runtime.partners.get(row.partner_id)
        kind = f" ({profile.mailbox.kind})" if profile is not None else ""
        last = f" (the last at {when(row.last_error_at)})" if row.last_error_at else ""
        text = [
            f"Every poll of {name}'s mailbox{kind} since {when(row.failing_since)} failed{last}:",
            f"  {row.last_error or 'no error recorded'}",
            "",
            "Nothing arrives from this partner or goes to it until it works again.",
            "  edi-engine status",
            f"  edi-engine poll {row.partner_id}",
        ]
        yield Candidate(
            key=f"{AlertKind.MAILBOX_FAILING}:{row.partner_id}:{row.failing_since.isoformat()}",
            kind=AlertKind.MAILBOX_FAILING,
            partner_id=row.partner_id,
            subject=f"Mailbox failing: {name}{kind} since {when(row.failing_since)}",
            text="\n".join(text),
            occurred_at=row.failing_since,
        )


def certificates_near_expiry(runtime: Runtime) -> Iterator[Candidate]:
    """An AS2 certificate, the partner's or ours, within ``WARN_DAYS`` of its expiry, expired, or
    unreadable: once it expires, every message with that partner fails. One alert when the warning
    starts and another when it expires."""
    now = runtime.now()
    for found in partner_certificates(runtime):
        name = partner_name(runtime, found.partner_id)
        certificate = found.certificate
        if certificate is None:
            yield Candidate(
                key=f"{AlertKind.CERTIFICATE}:{found.partner_id}:{found.whose}:unreadable:{found.error}",
                kind=AlertKind.CERTIFICATE, partner_id=found.partner_id,
                subject=f"AS2 certificate for {name} cannot be read",
                text=f"{found.error}\n\nMessages with {name} fail until the file is fixed.\n  edi-engine partners",
                occurred_at=now,
            )  # fmt: skip
            continue
        warning = certificate.warning(now)
        if warning is None:
            continue
        expired = now >= certificate.not_after
        stage = "expired" if expired else "not-yet-valid" if now < certificate.not_before else f"{WARN_DAYS}-days"
        whose = "our" if found.whose == "ours" else f"{name}'s"
        yield Candidate(
            key=f"{AlertKind.CERTIFICATE}:{found.partner_id}:{certificate.fingerprint}:{stage}",
            kind=AlertKind.CERTIFICATE,
            partner_id=found.partner_id,
            subject=f"AS2 certificate ({whose}) for {name}: {warning}",
            text="\n".join([
                f"The certificate {certificate.subject} ({certificate.path}) that AS2 with {name} uses {warning}.",
                f"SHA-256 fingerprint {certificate.fingerprint}.",
                "",
                "Exchange a new certificate with the partner and list both in the profile while they move over;",
                "the current one first. Until then, every message with this partner fails once it expires.",
                "  edi-engine partners",
            ]),
            occurred_at=min(now, certificate.not_after if expired else certificate.not_after - timedelta(days=WARN_DAYS)),
        )  # fmt: skip


#: Every detector a run asks, in order. Append to add one.
DETECTORS: list[Detector] = [
    retailer_cancels,
    retailer_changes,
    rejected_997s,
    overdue_997s,
    quarantined_files,
    failing_mailboxes,
    certificates_near_expiry,
]
