"""Inbound files become orders: archive, detect duplicates, read and validate, acknowledge, map,
apply the rules, store, and write what we owe, so that any step may crash and the file may be
ingested again without losing or duplicating anything.

1. The raw bytes are archived (on disk, by digest) and received in the database in a first
   transaction. The same bytes from the same sender as a committed interchange are recorded as
   a duplicate and nothing more happens; so are the same bytes as an interchange we rejected.
   The same bytes as one received but never committed (a crash, our own re-fetch) reuse that
   record and are processed normally.
2. One second transaction applies the partner's duplicate policy to an ISA13 that a *different*
   committed file from the same sender used within the window (flag it, reject it with a TA1
   025, or accept it), reads and validates the file once, records every set, quarantines the
   rejected ones with their findings, applies the rules to the others (850s a few hundred at a
   time), records the 997/999/TA1 built from the same read and then every document the rules
   owe (each under its cause, with control numbers taken in this transaction, the 997's first),
   and commits the interchange. A crash anywhere in it rolls all of it back, control numbers
   included. Another worker committing the same file first makes this one its duplicate; one
   that changed the same order first makes this transaction run again.
3. The outbox is flushed, a batch of documents per transaction (``engine.outbound.flush_outbox``),
   on every run, duplicates included: a crash after step 2 leaves documents pending, and the
   rerun of the same file, found a duplicate, still writes them.

``CRASH_POINTS`` names the places between those steps; ``crash_point`` is called at each and
does nothing, so that tests can replace it to stop the pipeline there and prove the rerun right.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from edi.findings import Finding
from edi.text import is_digits
from edi.x12.ack_results import AckStatus, read_functional_ack
from edi.x12.acks import Acknowledgements, Acknowledger, acknowledge
from edi.x12.reader import X12Reader
from edi.x12.structures import InterchangeStart, TransactionSet
from edi.x12.validate import validated_events
from engine.collector import collector_paused
from engine.db.repository import (
    CauseAlreadyHandled,
    InterchangeAlreadyCommitted,
    OrderExists,
    SetRecord,
    StaleOrder,
    StoredOrder,
)
from engine.db.session import UnitOfWork, unit_of_work
from engine.db.tables import Interchange, InterchangeStatus, OutboundKind, SetStatus
from engine.files import archive
from engine.model import Acknowledgement, Order, OrderChange, ShipNotice
from engine.outbound import InterchangeHeader, Owed, flush_outbox, prepare_bundles, record, record_interchange_ack
from engine.rules import OutboundDocument as CanonicalDocument
from engine.rules import (
    Outcome,
    RuleRefused,
    apply_partner_acknowledgement,
    apply_partner_ship_notice,
    receive_change,
    receive_order,
)
from engine.runtime import Runtime
from engine.timings import INGEST_SECONDS
from mappings.profile import PartnerProfile
from mappings.x12 import ack855, ack865, asn856, change860, po850
from mappings.x12.common import MappingError
from mappings.x12.registry import map_for

#: Where ingest may stop, in the order a file passes them (``crash_point`` is called at each).
CRASH_POINTS = (
    "archived",  # the bytes are on disk; the database knows nothing yet
    "received",  # the receipt is committed; nothing is applied
    "acknowledged",  # the 997/999 is recorded in the open processing transaction
    "before_commit",  # everything is recorded and the interchange marked committed; not yet durable
    "committed",  # the interchange and its documents are durable; the outbox is not written
    "outbox_written",  # one outbox file is in place and not yet marked sent
)

#: TA105: Duplicate Interchange Control Number.
DUPLICATE_ISA13 = "025"
#: How many times the processing transaction runs when another worker changed the same order first.
ATTEMPTS = 3


def crash_point(name: str) -> None:
    """Nothing, in production. Tests replace it to raise at ``name``, one of ``CRASH_POINTS``."""


@dataclass
class IngestReport:
    """What became of one file, in words a person reads and the CLI prints as JSON."""

    file: str
    status: str  # processed, duplicate, rejected, unknown_partner, unreadable
    interchange_id: int | None = None
    partner_id: str | None = None
    sets: list[dict[str, Any]] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "interchange_id": self.interchange_id,
            "partner_id": self.partner_id,
            "sets": self.sets,
            "orders": self.orders,
            "documents": self.documents,
            "messages": self.messages,
        }

    def restart(self) -> None:
        """Forget what a rolled-back transaction did."""
        self.sets, self.orders, self.documents = [], [], []


class NotApplied(Exception):
    """A set that is valid but cannot be applied (no such order, a set the engine does not apply)."""


def _unknown(profile: PartnerProfile, po_number: str) -> str:
    return f"{profile.name} has no order {po_number!r} in the engine"


def read_envelope(data: bytes) -> InterchangeHeader | None:
    """The first interchange's ISA, or None when there is none that can be split into its 16 elements."""
    for event in X12Reader(data):
        if isinstance(event, InterchangeStart):
            ich = event.interchange
            if len(ich.isa.fields) != 17:
                return None
            return InterchangeHeader(
                sender=ich.sender,
                receiver=ich.receiver,
                control_number=ich.control_number,
                date=ich.isa.element(9),
                time=ich.isa.element(10),
                version=ich.version,
                test=ich.usage == "T",
            )
    return None


def ingest_file(runtime: Runtime, path: Path) -> IngestReport:
    """Ingest one file (see the module doc), then write every pending document to the outbox."""
    report = ingest_data(runtime, path.read_bytes(), source=str(path), name=path.name)
    flush_outbox(runtime, after_each=lambda _: crash_point("outbox_written"))
    return report


def ingest_data(runtime: Runtime, data: bytes, *, source: str, name: str) -> IngestReport:
    """Ingest bytes fetched from a mailbox (steps 1 and 2 of the module doc; the caller flushes or
    delivers). ``source`` says where they came from in messages (a path, ``sftp://host/dir/file``);
    ``name`` is the file's name as the mailbox gave it, stored and shown, never used as a path."""
    started = time.perf_counter()
    report = IngestReport(file=source, status="processed")
    try:
        return _ingest(runtime, data, report, name)
    finally:
        INGEST_SECONDS.labels(report.partner_id or "").observe(time.perf_counter() - started)


def _ingest(runtime: Runtime, data: bytes, report: IngestReport, name: str) -> IngestReport:
    source = report.file
    digest, _ = archive(runtime.workspace.archive_dir, data)
    crash_point("archived")
    envelope = read_envelope(data)
    if envelope is None:
        report.status = "unreadable"
        report.messages.append(f"{source}: no readable X12 interchange header (ISA) in the file")
        return report
    sender, receiver = ":".join(envelope.sender), ":".join(envelope.receiver)
    profile = runtime.partners.by_isa(*envelope.sender)
    test = envelope.test or (profile is not None and profile.usage == "T")
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        reception = uow.interchanges.receive(
            data, sender=sender, receiver=receiver, control_number=envelope.control_number,
            partner_id=profile.id if profile else None, test=test, file_name=name, at=now,
        )  # fmt: skip
        report.interchange_id = reception.interchange_id
        if reception.status is InterchangeStatus.DUPLICATE:
            report.status = "duplicate"
            report.messages.append(
                f"{name}: the same bytes from {sender} were processed already "
                f"(interchange {reception.duplicate_of_id}); nothing applied again"
            )
            return report
        rejected = _rejected_before(uow, sender, digest)
        if rejected is not None:
            row = uow.interchanges.get(reception.interchange_id)
            row.status, row.duplicate_of_id, row.content = InterchangeStatus.DUPLICATE, rejected.id, None
            report.status = "duplicate"
            report.messages.append(
                f"{name}: the same bytes from {sender} were rejected already (interchange {rejected.id}: "
                f"{rejected.reason}); not answered again"
            )
            return report
        if profile is None:
            uow.interchanges.quarantine(
                reception.interchange_id, reason=f"no partner profile has the ISA identity {sender}", at=now
            )
            report.status = "unknown_partner"
            report.messages.append(f"{name}: no partner profile has the ISA identity {sender}; quarantined")
            return report
    crash_point("received")
    report.partner_id = profile.id
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with collector_paused(), unit_of_work(runtime.sessions) as uow:
                if not _claim(uow, reception.interchange_id, sender, digest, report):
                    return report
                if not _duplicate_policy(uow, runtime, profile, envelope, reception.interchange_id, digest, report):
                    return report
                _process(uow, runtime, profile, data, reception.interchange_id, report, test=test)
                uow.interchanges.commit(reception.interchange_id, at=now)
                crash_point("before_commit")
            break
        except InterchangeAlreadyCommitted as clash:
            if clash.original_id != reception.interchange_id:
                with unit_of_work(runtime.sessions) as uow:
                    uow.interchanges.mark_duplicate(reception.interchange_id)
            report.status = "duplicate"
            report.messages.append(f"{name}: another worker committed the same file first; nothing applied again")
            report.restart()
            return report
        except (OrderExists, StaleOrder, CauseAlreadyHandled):
            # Another worker changed an order (or owed a document) this file touches, and all of
            # this transaction was rolled back: read everything again, unless that keeps happening.
            report.restart()
            if attempt == ATTEMPTS:
                raise
    crash_point("committed")
    return report


def _claim(uow: UnitOfWork, interchange_id: int, sender: str, digest: str, report: IngestReport) -> bool:
    """Hold the interchange's record for this transaction; whether it is still ours to apply.

    Two workers given the same file may share one received record (see ``receive``). The row
    lock makes the second wait for the first to finish (SQLite's write lock does so already), and
    the second then finds the record no longer received. A different record of the same bytes
    that another worker committed makes this one its duplicate.
    """
    row = uow.session.get(Interchange, interchange_id, with_for_update=True, populate_existing=True)
    assert row is not None
    if row.status is not InterchangeStatus.RECEIVED:
        report.status = "rejected" if row.status is InterchangeStatus.REJECTED else "duplicate"
        report.messages.append(
            f"{Path(report.file).name}: another worker took the same file at the same time "
            f"(interchange {interchange_id} is {row.status.value}); nothing applied again"
        )
        return False
    original = uow.interchanges.find_committed(sender, digest)
    if original is not None:  # another worker committed the same file since we received it
        raise InterchangeAlreadyCommitted(interchange_id, original.id)
    return True


def _rejected_before(uow: UnitOfWork, sender: str, digest: str) -> Interchange | None:
    """An interchange of the same bytes from the same sender that we rejected (and answered) already."""
    query = select(Interchange).where(
        Interchange.sender == sender, Interchange.sha256 == digest, Interchange.status == InterchangeStatus.REJECTED
    )
    return uow.session.scalars(query.order_by(Interchange.id).limit(1)).first()


def _duplicate_policy(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, envelope: InterchangeHeader, interchange_id: int,
    digest: str, report: IngestReport,
) -> bool:  # fmt: skip
    """Apply the partner's policy to an ISA13 that a different committed file used; whether to go on.

    Only committed interchanges count: our own re-fetch of a file that was archived but never
    committed has the same bytes, reuses its record, and meets nothing here.
    """
    policy = profile.duplicates
    now = runtime.now()
    sender = ":".join(envelope.sender)
    earlier = [
        ich
        for ich in uow.interchanges.committed_with_control_number(
            sender, envelope.control_number, since=now - timedelta(days=policy.window_days)
        )
        if ich.id != interchange_id and ich.sha256 != digest
    ]
    if not earlier or policy.action == "accept":
        return True
    first = earlier[0]
    said = (
        f"ISA13 {envelope.control_number} from {sender} was already used by interchange {first.id} "
        f"(received {_day(first.received_at)}), within {profile.name}'s {policy.window_days}-day window"
    )
    if policy.action == "flag":
        uow.interchanges.get(interchange_id).reason = f"flagged: {said}; processed, a person should check it"
        report.messages.append(f"{Path(report.file).name}: {said}; processed and flagged for a person")
        return True
    reason = f"{said}: rejected with TA1 {DUPLICATE_ISA13} (Duplicate Interchange Control Number)"
    ta1 = record_interchange_ack(
        uow, runtime, profile, answering=envelope, code=DUPLICATE_ISA13, cause_key=f"ta1:interchange:{interchange_id}",
        interchange_id=interchange_id, now=now,
    )  # fmt: skip
    uow.interchanges.reject(interchange_id, reason)
    uow.interchanges.quarantine(interchange_id, reason=reason, at=now)
    report.status = "rejected"
    report.documents.append(f"{ta1.kind} ({ta1.file_name})")
    report.messages.append(f"{Path(report.file).name}: {reason}; quarantined")
    return False


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _process(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, data: bytes, interchange_id: int,
    report: IngestReport, *, test: bool,
) -> None:  # fmt: skip
    """One read of the file: its sets applied as they come, its 997/999 built from the same events."""
    acknowledger = Acknowledger(kind=profile.acknowledgements.functional_ack_for_005010)
    apply_sets(uow, runtime, profile, data, interchange_id, report, test=test, acknowledger=acknowledger)


def apply_sets(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, data: bytes, interchange_id: int,
    report: IngestReport, *, test: bool, skip: Collection[int] = (), rejected_note: str = "",
    acknowledger: Acknowledger | None = None,
) -> list[int]:  # fmt: skip
    """Map and apply each accepted set of the file in order, record every set, quarantine the
    rejected ones, then record the acknowledgement and the documents the rules owe; the positions
    applied.

    The documents are rendered at the end, in the order of the sets that caused them, after the
    ``acknowledger``'s 997/999 (which takes the first control numbers), so that documents of one
    kind can travel together (``envelopes`` in the partner's profile).
    ``skip``: positions applied before (a reprocess), reported as such and left alone.
    ``rejected_note`` follows the reason of a set our acknowledgement rejected.
    """
    now = runtime.now()
    applied = _Applied(uow, interchange_id, bulk=not uow.interchanges.has_sets(interchange_id))
    owed: list[Owed] = []
    orders = _PurchaseOrders(uow, runtime, profile, report, applied, owed, test=test or profile.terms.test_mode)
    reader = X12Reader(data, name=report.file)
    events = validated_events(reader)
    if acknowledger is not None:
        events = acknowledger.observe(events)
    sets = (event for event in events if isinstance(event, TransactionSet))
    for position, ts in enumerate(sets, start=1):
        group = ts.group
        errors = [f for f in ts.findings if f.is_error]
        entry: dict[str, Any] = {"position": position, "set": ts.id, "control_number": ts.control_number}
        report.sets.append(entry)
        if position in skip:
            entry["status"] = "already applied"
            continue
        if group is None or errors or not group.supported or any(f.is_error for f in group.findings):
            reason = _first_sentence(errors) or "its functional group was rejected"
            applied.refuse(position, ts, entry, reason, findings=ts.findings, at=now)
            entry["reason"] += rejected_note
            continue
        document_id = f"interchange:{interchange_id}:set:{position}"
        if ts.id == po850.SET_ID:
            orders.add(position, ts, entry, document_id)
            continue
        orders.apply()  # a later set may concern an order of the batch: apply the batch first
        try:
            order_id = apply_set(uow, runtime, profile, ts, document_id, test, report, owed=owed)
        except (RuleRefused, MappingError, NotApplied) as refusal:
            applied.refuse(position, ts, entry, str(refusal), at=now)
            continue
        applied.accept(position, ts, entry, order_id)
    orders.apply()
    applied.flush()
    with uow.control_numbers.held():
        if acknowledger is not None:
            acks = acknowledger.finish(uow.control_numbers, now=now, reader_findings=reader.findings)
            _record_acknowledgements(uow, runtime, profile, acks, interchange_id, report)
            crash_point("acknowledged")
        bundles = prepare_bundles(uow, runtime, profile, owed, now=now)
        uow.outbound.add_bundles([(bundle.carrier, bundle.documents) for bundle in bundles])
        report.documents += [f"{d['kind']} ({d['file_name']})" for bundle in bundles for d in bundle.documents]
    return applied.positions


class _Applied:
    """What became of each set of the file: refused sets are recorded and quarantined at once;
    accepted ones are recorded together at the end when the interchange has no set recorded yet."""

    def __init__(self, uow: UnitOfWork, interchange_id: int, *, bulk: bool) -> None:
        self.uow, self.interchange_id, self.bulk = uow, interchange_id, bulk
        self.waiting: list[SetRecord] = []
        self.positions: list[int] = []

    def accept(self, position: int, ts: TransactionSet, entry: dict[str, Any], order_id: int | None) -> None:
        assert ts.group is not None
        self.positions.append(position)
        record = SetRecord(
            position, SetStatus.ACCEPTED, ts.id, ts.group.control_number, ts.control_number, ts.findings, order_id
        )
        entry["status"] = "applied"
        if self.bulk:
            self.waiting.append(record)
        else:
            self.uow.interchanges.record_set(self.interchange_id, **asdict(record))

    def refuse(
        self, position: int, ts: TransactionSet, entry: dict[str, Any], reason: str, *,
        findings: list[Finding] | None = None, at: datetime,
    ) -> None:  # fmt: skip
        """Record the set rejected and quarantine it with ``reason`` (and its findings, when they are why)."""
        row = self.uow.interchanges.record_set(
            self.interchange_id, position, status=SetStatus.REJECTED, set_id=ts.id,
            group_control_number=ts.group.control_number if ts.group else None,
            set_control_number=ts.control_number, findings=ts.findings,
        )  # fmt: skip
        self.uow.interchanges.quarantine(
            self.interchange_id, reason=reason, findings=findings or (), transaction_set_id=row.id, at=at
        )
        entry["status"] = "quarantined"
        entry["reason"] = reason

    def flush(self) -> None:
        self.uow.interchanges.record_new_sets(self.interchange_id, self.waiting)
        self.waiting = []


@dataclass
class _Waiting:
    """A purchase order read from the file, not yet applied."""

    position: int
    ts: TransactionSet
    entry: dict[str, Any]
    document_id: str
    incoming: Order


class _PurchaseOrders:
    """A file's 850s, applied a few hundred at a time: one query finds the orders they concern, and
    new orders are stored with one statement per table. The outcome is the one applying them one
    by one gives: the same orders, events and owed documents, in file order.

    Another set of the file, or a second 850 for a PO number waiting here, applies the batch
    first, so every set sees the orders as the sets before it left them.
    """

    SIZE = 500

    def __init__(
        self, uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, report: IngestReport, applied: _Applied,
        owed: list[Owed], *, test: bool,
    ) -> None:  # fmt: skip
        self.uow, self.runtime, self.profile, self.report, self.applied = uow, runtime, profile, report, applied
        self.owed, self.test = owed, test
        self.waiting: dict[str, _Waiting] = {}

    def add(self, position: int, ts: TransactionSet, entry: dict[str, Any], document_id: str) -> None:
        try:
            incoming: Order = _read_document(self.runtime, self.profile, ts, self.test)
        except MappingError as refusal:
            self.applied.refuse(position, ts, entry, str(refusal), at=self.runtime.now())
            return
        if incoming.po_number in self.waiting:
            self.apply()
        self.waiting[incoming.po_number] = _Waiting(position, ts, entry, document_id, incoming)
        if len(self.waiting) >= self.SIZE:
            self.apply()

    def apply(self) -> None:
        if not self.waiting:
            return
        uow, profile, now = self.uow, self.profile, self.runtime.now()
        waiting = sorted(self.waiting.values(), key=lambda w: w.position)
        self.waiting = {}
        stored = uow.orders.find_many(profile.id, [w.incoming.po_number for w in waiting], test=self.test)
        decided: list[tuple[_Waiting, Outcome, StoredOrder | None]] = []
        for item in waiting:
            before = stored.get(item.incoming.po_number)
            try:
                outcome = receive_order(
                    before.order if before else None, item.incoming, terms=profile.terms,
                    document_id=item.document_id, now=now,
                )  # fmt: skip
            except RuleRefused as refusal:
                self.applied.refuse(item.position, item.ts, item.entry, str(refusal), at=now)
                continue
            decided.append((item, outcome, before))
        new = [outcome.order for _, outcome, before in decided if before is None]
        ids = iter(saved.id for saved in uow.orders.add_new(new, at=now))
        for item, outcome, before in decided:
            if before is None:
                order_id = next(ids)
                self.report.orders.append(outcome.order.po_number)
                self.owed += _owed(outcome, order_id)
            else:
                order_id = _store(uow, outcome, before.version, self.report, self.owed)
            self.applied.accept(item.position, item.ts, item.entry, order_id)


def _read_document(runtime: Runtime, profile: PartnerProfile, ts: TransactionSet, test: bool) -> Any:
    """The set's canonical document, read by its map (an order adjusted by the partner's hook), in
    the live or the test space."""
    assert ts.group is not None
    document = map_for(ts.id).read(ts, profile, version=ts.group.version)
    if ts.id == po850.SET_ID:
        document = runtime.partners.hooks(profile.id).adjust_order(document)
    return document.model_copy(update={"partner_id": profile.id, "test": test})


def _first_sentence(findings: list[Finding]) -> str | None:
    return str(findings[0]) if findings else None


def acknowledge_file(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, data: bytes, interchange_id: int, report: IngestReport
) -> None:
    """The 997/999 (and TA1) owed for the whole file, recorded once for this interchange."""
    cause = f"ack:interchange:{interchange_id}"
    if uow.outbound.for_cause(cause) is not None:
        return
    kind = profile.acknowledgements.functional_ack_for_005010  # 999 applies to 005010 groups only
    acks = acknowledge(data, kind=kind, control_numbers=uow.control_numbers, now=runtime.now(), name=report.file)
    _record_acknowledgements(uow, runtime, profile, acks, interchange_id, report)


def _record_acknowledgements(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, acks: Acknowledgements, interchange_id: int,
    report: IngestReport,
) -> None:  # fmt: skip
    """Record the file's TA1/997/999 interchange (marked test for a partner in test mode), if it owes one."""
    cause = f"ack:interchange:{interchange_id}"
    if not acks.data:
        return
    content = _marked_test(acks.data) if profile.usage == "T" else acks.data
    first = acks.interchanges[0]
    kinds = {g.kind for summary in acks.interchanges for g in summary.groups if g.kind}
    outbound_kind = OutboundKind.IMPLEMENTATION_ACK if "999" in kinds else OutboundKind.FUNCTIONAL_ACK
    if not kinds:
        outbound_kind = OutboundKind.INTERCHANGE_ACK
    document = uow.outbound.add(
        partner_id=profile.id,
        kind=outbound_kind,
        cause_key=cause,
        content=content,
        interchange_control_number=int(first.reply_control_number) if first.reply_control_number else None,
        file_name=f"{profile.id}-{outbound_kind.value}-{first.reply_control_number}.x12",
        interchange_id=interchange_id,
        at=runtime.now(),
    )
    report.documents.append(f"{outbound_kind.value} ({document.file_name})")


def _marked_test(data: bytes) -> bytes:
    """Our acknowledgements with ISA15 T: a partner in test mode gets nothing marked production,
    even for an interchange it marked P (the 997 would otherwise copy its usage)."""
    marked = bytearray(data)
    for event in X12Reader(data):
        if isinstance(event, InterchangeStart):
            fields = event.interchange.isa.fields  # ["ISA", ISA01, ..., ISA16]: we wrote all of them
            at = event.interchange.offset + sum(len(value) + 1 for value in fields[:15])
            marked[at : at + 1] = b"T"
    return bytes(marked)


def apply_set(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, ts: TransactionSet, document_id: str, test: bool,
    report: IngestReport, *, owed: list[Owed],
) -> int | None:  # fmt: skip
    """Map one accepted set and apply its rule; the order's id, when one was touched. The documents
    the rule owes are added to ``owed``."""
    assert ts.group is not None
    if ts.id in _FUNCTIONAL_ACKS:
        _read_functional_acks(uow, profile, ts, report)
        return None
    apply = _APPLY.get(ts.id)
    if apply is None:
        raise NotApplied(f"transaction set {ts.id} is not one the engine applies")
    test = test or profile.terms.test_mode
    document = _read_document(runtime, profile, ts, test)
    return apply(_Applying(uow, runtime, profile, document_id, test, report, owed), document)


@dataclass(frozen=True)
class _Applying:
    """What a set's rule needs besides the document: where to find and store orders, and who to tell."""

    uow: UnitOfWork
    runtime: Runtime
    profile: PartnerProfile
    document_id: str
    test: bool
    report: IngestReport
    owed: list[Owed]

    def stored(self, po_number: str) -> StoredOrder:
        found = self.uow.orders.find(self.profile.id, po_number, test=self.test)
        if found is None:
            raise NotApplied(_unknown(self.profile, po_number))
        return found

    def store(self, outcome: Outcome, version: int | None) -> int:
        return _store(self.uow, outcome, version, self.report, self.owed)


def _apply_order(at: _Applying, incoming: Order) -> int:
    stored = at.uow.orders.find(at.profile.id, incoming.po_number, test=at.test)
    outcome = receive_order(
        stored.order if stored else None, incoming, terms=at.profile.terms, document_id=at.document_id,
        now=at.runtime.now(),
    )  # fmt: skip
    return at.store(outcome, stored.version if stored else None)


def _apply_change(at: _Applying, change: OrderChange) -> int:
    stored = at.stored(change.po_number)
    outcome = receive_change(stored.order, change, document_id=at.document_id, now=at.runtime.now())
    return at.store(outcome, stored.version)


def _apply_acknowledgement(at: _Applying, ack: Acknowledgement) -> int:
    stored = at.stored(ack.po_number)
    outcome = apply_partner_acknowledgement(stored.order, ack, document_id=at.document_id, now=at.runtime.now())
    return at.store(outcome, stored.version)


def _apply_ship_notice(at: _Applying, notice: ShipNotice) -> int | None:
    touched = None
    for shipped in notice.orders:
        stored = at.stored(shipped.po_number)
        outcome = apply_partner_ship_notice(stored.order, notice, document_id=at.document_id, now=at.runtime.now())
        touched = at.store(outcome, stored.version)
    return touched


#: ST01 -> the rule that applies the set's document (read by its map in ``mappings.x12.registry``).
_APPLY: dict[str, Callable[[_Applying, Any], int | None]] = {
    po850.SET_ID: _apply_order,
    change860.SET_ID: _apply_change,
    ack855.SET_ID: _apply_acknowledgement,
    ack865.SET_ID: _apply_acknowledgement,
    asn856.SET_ID: _apply_ship_notice,
}
#: Sets that answer what we sent rather than carry a document (read by ``edi.x12.ack_results``).
_FUNCTIONAL_ACKS = frozenset({"997", "999"})


def _store(uow: UnitOfWork, outcome: Outcome, version: int | None, report: IngestReport, owed: list[Owed]) -> int:
    stored = uow.orders.save(outcome.order, expected_version=version)
    report.orders.append(outcome.order.po_number)
    owed += _owed(outcome, stored.id)
    return stored.id


def _owed(outcome: Outcome, order_id: int) -> list[Owed]:
    return [Owed(cause, document, outcome.order, order_id) for cause, document in _causes(outcome, order_id)]


def owe_documents(
    uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, outcome: Outcome, order_id: int, written: list[str]
) -> None:
    """Record every document the outcome owes, each under the event that caused it."""
    for cause, document in _causes(outcome, order_id):
        row = record(
            uow, runtime, profile, document, cause_key=cause, order=outcome.order, order_id=order_id,
            now=runtime.now(),
        )  # fmt: skip
        written.append(f"{row.kind} ({row.file_name})")


def _causes(outcome: Outcome, order_id: int) -> Iterator[tuple[str, CanonicalDocument]]:
    """Each document the outcome owes, under the cause key that names it: the order and its latest event."""
    events = len(outcome.order.events)
    for index, document in enumerate(outcome.documents):
        yield f"order:{order_id}:event:{events}:document:{index}", document


def _read_functional_acks(uow: UnitOfWork, profile: PartnerProfile, ts: TransactionSet, report: IngestReport) -> None:
    """A partner's 997/999: mark what we sent accepted or rejected, found by our GS06 (AK102)."""
    result = read_functional_ack(ts)
    number = result.group_control_number
    if number is None or not is_digits(number):
        report.messages.append(f"{result.kind} {ts.control_number} names no group of ours")
        return
    document = uow.outbound.find_by_group(profile.id, int(number))
    if document is None:
        report.messages.append(f"{result.kind} for group {number}: not a group we sent to {profile.id}")
        return
    accepted = result.status in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS)
    detail = {"kind": result.kind, "code": result.code, "description": result.describe()}
    sets = {
        int(answer.control_number): answer.status in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS)
        for answer in result.sets
        if answer.status is not None and is_digits(answer.control_number)
    }
    uow.outbound.record_ack(document.id, accepted=accepted, result=detail, sets=sets)
    state = result.status.value if result.status else result.code
    report.messages.append(f"{result.kind}: our {document.kind} {document.file_name} was {state}")


def overdue(runtime: Runtime) -> list[str]:
    """Documents whose 997 did not come within the partner's deadline: now overdue."""
    with unit_of_work(runtime.sessions) as uow:
        return [f"{d.partner_id} {d.kind} {d.file_name}" for d in uow.outbound.mark_overdue(runtime.now())]
