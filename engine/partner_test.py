"""The partner test harness: a partner's sample documents through the maps and rules, checked
against the expected results an integration engineer reviewed.

``edi-engine partners test PARTNER`` builds a throwaway workspace (a temporary folder with its
own SQLite database) holding only that partner, and ingests the partner's ``samples/`` in name
order, each at the time its ISA says it was sent, so that every run writes the same bytes. For
each sample it compares, with the files kept in ``samples/expected/``:

``<sample>.json``
    what the maps read from each transaction set (the canonical document), what became of the
    set (applied, or quarantined and why), and each order the sample touched as it then stood;
``<sample>.<set>.x12``
    each document the engine owed because of the sample (the 997 / 999, an 855, an 865, ...),
    byte for byte; a second one of the same set is ``<sample>.<set>-2.x12``.

``samples/expected/given/*.json`` are orders on file before the samples run (canonical order
JSON): the orders we sent a supplier, whose 855 and 856 the samples answer, or an order whose
850 is not among the samples.

Across the chain it checks that every document agrees with the orders: each acknowledged line is
on the order, quantities and units carry through from the 850 to the order and to every
acknowledgement and ship notice, the acknowledgement type agrees with its line codes, shipped
never exceeds acknowledged, and every document the engine writes validates. ``--update``
writes the expected files from this run (review them as a diff); consistency problems are
never written away.
"""

from __future__ import annotations

import difflib
import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from edi.x12.reader import X12Reader
from edi.x12.structures import InterchangeStart, TransactionSet
from edi.x12.validate import validated_events
from engine.config import OurIdentity
from engine.db.session import unit_of_work
from engine.db.tables import OutboundDocument
from engine.ingest import ingest_file
from engine.model import (
    Acknowledgement,
    AckType,
    EventKind,
    LineAckStatus,
    Order,
    OrderChange,
    ShipNotice,
)
from engine.rules.common import ack_type_of, shipped_per_line
from engine.runtime import Runtime
from engine.services import document_diff
from mappings.profile import PartnerProfile
from mappings.profiles import DEFAULTS_NAMES, Partners
from mappings.x12.common import MappingError
from mappings.x12.registry import BY_SET_ID

EXPECTED_FOLDER = "expected"
GIVEN_FOLDER = "given"
#: When a sample's ISA09/ISA10 cannot be read, it is received at this time.
FALLBACK_TIME = datetime(2024, 1, 1, tzinfo=UTC)
ZERO = Decimal(0)


@dataclass
class SampleResult:
    sample: str
    sets: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # expected files compared (or written)
    mismatches: list[str] = field(default_factory=list)  # each a readable diff
    problems: list[str] = field(default_factory=list)  # consistency across the chain
    outputs: dict[str, bytes] = field(default_factory=dict)  # expected file name -> what this run produced

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "sample": self.sample,
            "ok": self.ok,
            "sets": self.sets,
            "files": self.files,
            "mismatches": self.mismatches,
            "problems": self.problems,
        }


@dataclass
class PartnerTestReport:
    partner_id: str
    samples: list[SampleResult] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # files written by --update
    removed: list[str] = field(default_factory=list)  # stale expected files removed by --update
    problems: list[str] = field(default_factory=list)  # not about one sample (stale files, given orders)

    @property
    def ok(self) -> bool:
        return not self.problems and all(sample.ok for sample in self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner_id": self.partner_id,
            "ok": self.ok,
            "given": self.given,
            "samples": [sample.as_dict() for sample in self.samples],
            "updated": self.updated,
            "removed": self.removed,
            "problems": self.problems,
        }


class _Clock:
    """The throwaway workspace's clock: each sample is received when its ISA says it was sent."""

    def __init__(self) -> None:
        self.at = FALLBACK_TIME

    def __call__(self) -> datetime:
        return self.at


def run_partner_test(
    partners: Partners, partner_id: str, *, us: OurIdentity | None = None, update: bool = False
) -> PartnerTestReport:
    """Run ``partner_id``'s samples in a throwaway workspace and compare (or, with ``update``,
    write) the expected files; see the module documentation."""
    if partner_id not in partners:
        known = ", ".join(sorted(partners)) or "none"
        raise LookupError(f"no partner {partner_id!r} (partners: {known})")
    report = PartnerTestReport(partner_id)
    folder = partners.folder(partner_id)
    expected_dir = folder / "samples" / EXPECTED_FOLDER
    samples = partners.samples(partner_id)
    if not samples:
        report.problems.append(f"{folder / 'samples'} holds no sample documents to test")
        return report
    produced: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="edi-partner-test-") as tmp:
        clock = _Clock()
        runtime = _workspace(Path(tmp), partners, partner_id, us or OurIdentity(), clock)
        _load_given(runtime, expected_dir / GIVEN_FOLDER, report)
        seen_documents = 0
        for path in samples:
            clock.at = _sent_at(path.read_bytes())
            result = SampleResult(path.name)
            report.samples.append(result)
            seen_documents = _run_sample(runtime, runtime.partners[partner_id], path, result, seen_documents)
            for name, content in result.outputs.items():
                produced.add(name)
                _compare(expected_dir / name, content, result, report, update=update)
    _stale(expected_dir, produced, report, update=update)
    return report


def _run_sample(
    runtime: Runtime, profile: PartnerProfile, path: Path, result: SampleResult, seen_documents: int
) -> int:
    """Ingest one sample; fill ``result`` with what it produced and the chain's problems. Returns
    the id of the last outbound document so far (the next sample's are those after it)."""
    ingested = ingest_file(runtime, path)
    documents = _canonical(path, profile, runtime)
    for entry, document in zip(ingested.sets, documents, strict=True):
        result.sets.append({**entry, "document": document.model_dump(mode="json") if document is not None else None})
    if ingested.status != "processed":
        result.problems += [f"not processed ({ingested.status}): {message}" for message in ingested.messages]
    with unit_of_work(runtime.sessions) as uow:
        orders: dict[str, Order] = {}
        for po in dict.fromkeys(ingested.orders):
            stored = uow.orders.find(profile.id, po, test=False) or uow.orders.find(profile.id, po, test=True)
            if stored is not None:
                orders[po] = stored.order
        rows = uow.session.scalars(
            select(OutboundDocument).where(OutboundDocument.id > seen_documents).order_by(OutboundDocument.id)
        ).all()
        outbound = [(row.kind.value, row.content) for row in rows]
        seen_documents = max([seen_documents, *(row.id for row in rows)])
    canonical = {
        "sample": path.name,
        "sets": result.sets,
        "orders": {po: order.model_dump(mode="json") for po, order in orders.items()},
    }
    result.outputs[f"{path.stem}.json"] = _json_text(canonical)
    counted: dict[str, int] = {}
    for kind, content in outbound:
        counted[kind] = counted.get(kind, 0) + 1
        suffix = "" if counted[kind] == 1 else f"-{counted[kind]}"
        result.outputs[f"{path.stem}.{kind}{suffix}.x12"] = content
    chain = _Chain()
    for entry, document in zip(ingested.sets, documents, strict=True):
        if entry.get("status") == "applied" and document is not None:
            chain.inbound(document)
    for kind, content in outbound:
        chain.outbound(kind, content, profile, result)
    result.problems += chain.check(orders.values())
    return seen_documents


def _workspace(root: Path, partners: Partners, partner_id: str, us: OurIdentity, clock: _Clock) -> Runtime:
    """A workspace in ``root`` with only this partner (its profile, hooks and defaults; no samples)."""
    source = partners.folder(partner_id)
    target = root / "partners" / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    for name in DEFAULTS_NAMES:
        if (source.parent / name).is_file():
            shutil.copy2(source.parent / name, root / "partners" / name)
    (root / "edi-engine.toml").write_text(
        'database = "sqlite:///var/engine.db"\npartners = "partners"\noutbox = "var/outbox"\n'
        'archive = "var/archive"\n\n[us]\n'
        f"isa_qualifier = {json.dumps(us.isa_qualifier)}\nisa_id = {json.dumps(us.isa_id)}\n"
        f"gs_code = {json.dumps(us.gs_code)}\n",
        encoding="utf-8",
    )
    return Runtime.open(root, clock=clock)


def _sent_at(data: bytes) -> datetime:
    """ISA09 and ISA10 of the first interchange, as a UTC time."""
    for event in X12Reader(data):
        if isinstance(event, InterchangeStart):
            fields = event.interchange.isa.fields
            try:
                return datetime.strptime(fields[9] + fields[10], "%y%m%d%H%M").replace(tzinfo=UTC)
            except (IndexError, ValueError):
                return FALLBACK_TIME
    return FALLBACK_TIME


def _canonical(path: Path, profile: PartnerProfile, runtime: Runtime) -> list[Any]:
    """What the maps read from each set of the sample, as ingest reads it (None when a set has no map
    or does not map)."""
    documents: list[Any] = []
    test_mode = profile.usage == "T" or profile.terms.test_mode
    usage_test = False
    for event in validated_events(X12Reader(path.read_bytes(), name=str(path))):
        if isinstance(event, InterchangeStart):
            usage_test = event.interchange.usage == "T"
        if not isinstance(event, TransactionSet):
            continue
        set_map = BY_SET_ID.get(event.id)
        if set_map is None or event.group is None or any(f.is_error for f in event.findings):
            documents.append(None)
            continue
        try:
            document = set_map.read(event, profile, version=event.group.version)
        except MappingError:
            documents.append(None)
            continue
        if isinstance(document, Order):
            document = runtime.partners.hooks(profile.id).adjust_order(document)
        update: dict[str, Any] = {"partner_id": profile.id, "test": usage_test or test_mode}
        documents.append(document.model_copy(update=update))
    return documents


def _load_given(runtime: Runtime, folder: Path, report: PartnerTestReport) -> None:
    """Store the orders on file before the samples run."""
    if not folder.is_dir():
        return
    with unit_of_work(runtime.sessions) as uow:
        for path in sorted(folder.glob("*.json")):
            try:
                order = Order.model_validate_json(path.read_text(encoding="utf-8"))
            except ValueError as problem:
                report.problems.append(f"{path}: not a canonical order: {problem}")
                continue
            if order.partner_id != report.partner_id:
                report.problems.append(f"{path}: order {order.po_number} is partner {order.partner_id}'s")
                continue
            uow.orders.save(order)
            report.given.append(path.name)
            report.problems += [f"{path.name}: {problem}" for problem in _line_problems(order)]


def _json_text(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _compare(path: Path, actual: bytes, result: SampleResult, report: PartnerTestReport, *, update: bool) -> None:
    result.files.append(path.name)
    expected = path.read_bytes() if path.is_file() else None
    if expected == actual:
        return
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        report.updated.append(str(path))
        return
    if expected is None:
        result.mismatches.append(f"{path}: no expected file; review the output and write it with --update")
        return
    if path.suffix == ".x12":
        diff = document_diff(expected, actual, before_name=f"{path} (expected)", after_name="this run")
    else:
        diff = "\n".join(
            difflib.unified_diff(
                expected.decode("utf-8").splitlines(),
                actual.decode("utf-8").splitlines(),
                fromfile=f"{path} (expected)",
                tofile="this run",
                lineterm="",
            )
        )
    result.mismatches.append(diff or f"{path}: differs from this run only in line endings")


def _stale(expected_dir: Path, produced: set[str], report: PartnerTestReport, *, update: bool) -> None:
    """Expected files this run did not produce: a document the engine no longer writes, or a sample gone."""
    if not expected_dir.is_dir():
        return
    for path in sorted(p for p in expected_dir.iterdir() if p.is_file() and p.suffix in (".json", ".x12")):
        if path.name in produced:
            continue
        if update:
            path.unlink()
            report.removed.append(str(path))
        else:
            report.problems.append(f"{path}: expected, but this run did not produce it (remove it with --update)")


# -- consistency across the chain ----------------------------------------------------------------------
@dataclass
class _Chain:
    """The documents one sample brought and caused, checked against the orders as they then stand."""

    acknowledgements: list[tuple[str, Acknowledgement]] = field(default_factory=list)  # (where from, ack)
    notices: list[tuple[str, ShipNotice]] = field(default_factory=list)
    orders_read: list[Order] = field(default_factory=list)

    def inbound(self, document: Any) -> None:
        if isinstance(document, Acknowledgement):
            self.acknowledgements.append(("the partner's " + ("865" if document.of_change else "855"), document))
        elif isinstance(document, ShipNotice):
            self.notices.append(("the partner's 856", document))
        elif isinstance(document, Order):
            self.orders_read.append(document)
        elif isinstance(document, OrderChange):
            pass  # a change is checked through the answers to it

    def outbound(self, kind: str, content: bytes, profile: PartnerProfile, result: SampleResult) -> None:
        """Validate a document the engine wrote, and read it back through the partner's map."""
        for event in validated_events(X12Reader(content, name=f"our {kind}")):
            if not isinstance(event, TransactionSet):
                continue
            errors = [f for f in event.findings if f.is_error]
            result.problems += [f"our {kind} does not validate: {finding}" for finding in errors]
            set_map = BY_SET_ID.get(event.id)
            if set_map is None or errors or event.group is None:
                continue
            try:
                document = set_map.read(event, profile, version=event.group.version)
            except MappingError as problem:
                result.problems.append(f"our {kind} does not read back through the map: {problem}")
                continue
            if isinstance(document, Acknowledgement):
                self.acknowledgements.append((f"our {event.id}", document))
            elif isinstance(document, ShipNotice):
                self.notices.append((f"our {event.id}", document))

    def check(self, orders: Iterable[Order]) -> list[str]:
        problems: list[str] = []
        for order in orders:
            problems += _line_problems(order)
            for incoming in self.orders_read:
                if incoming.po_number == order.po_number:
                    problems += _carried(incoming, order)
            for source, ack in self.acknowledgements:
                if ack.po_number == order.po_number:
                    found = _ack_problems(ack, order, restates=source == "our 855")
                    problems += [f"{source} for {order.po_number}: {p}" for p in found]
            for source, notice in self.notices:
                problems += [f"{source} {notice.shipment_id}: {p}" for p in _notice_problems(notice, order)]
        return list(dict.fromkeys(problems))


def _q(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _line_problems(order: Order) -> list[str]:
    """Quantities within one order that cannot all be true."""
    problems = []
    for line in order.lines:
        name = f"{order.po_number} line {line.line_number}"
        if line.cancelled_qty + line.shipped_qty > line.ordered_qty:
            problems.append(
                f"{name}: cancelled {_q(line.cancelled_qty)} and shipped {_q(line.shipped_qty)} of "
                f"{_q(line.ordered_qty)} ordered"
            )
        if line.acknowledged_qty is not None and line.shipped_qty > line.acknowledged_qty:
            problems.append(
                f"{name}: shipped {_q(line.shipped_qty)}, more than the {_q(line.acknowledged_qty)} acknowledged"
            )
        if line.acknowledged_qty is None and line.shipped_qty > 0:
            problems.append(f"{name}: shipped {_q(line.shipped_qty)}, but no acknowledgement accepted any")
    return problems


def _carried(incoming: Order, order: Order) -> list[str]:
    """The order as read from the 850 and as stored: the same lines, quantities and units."""
    problems = []
    for line in incoming.lines:
        stored = order.line(line.line_number)
        name = f"{order.po_number} line {line.line_number}"
        if stored is None:
            problems.append(f"{name}: read from the 850 but not on the stored order")
            continue
        if stored.ordered_qty != line.ordered_qty or stored.uom != line.uom:
            problems.append(
                f"{name}: the 850 orders {_q(line.ordered_qty)} {line.uom}, the stored order "
                f"{_q(stored.ordered_qty)} {stored.uom}"
            )
    return problems


def _known_lines(order: Order) -> set[str]:
    """Lines an acknowledgement may name: the order's, those waiting to be added, and those a
    change asked for (an answer may refuse to add an item)."""
    numbers = {line.line_number for line in [*order.lines, *order.pending_lines]}
    for event in order.events:
        if event.kind is EventKind.CHANGE_REQUESTED:
            numbers |= {effect.line_number for effect in event.lines}
    return numbers


def _ack_problems(ack: Acknowledgement, order: Order, *, restates: bool = False) -> list[str]:
    """``restates``: an 855 of ours states every line in full (cancelled, backordered and accepted
    quantities add up to what was ordered)."""
    problems = []
    known = _known_lines(order)
    totals: dict[str, Decimal] = {}
    for line_ack in ack.lines:
        number = line_ack.line_number
        if number not in known:
            problems.append(f"acknowledges line {number}, which is not on the order")
            continue
        line = order.line(number)
        if line is None:
            continue
        if line_ack.uom is not None and line_ack.uom != line.uom:
            problems.append(f"line {number} in {line_ack.uom}, the order in {line.uom}")
        if line_ack.quantity is not None:
            totals[number] = totals.get(number, ZERO) + line_ack.quantity
    for number, total in totals.items():
        line = order.line(number)
        if line is not None and total > line.ordered_qty:
            problems.append(f"line {number}: {_q(total)} acknowledged of {_q(line.ordered_qty)} ordered")
    if restates:
        for line in order.lines:
            stated = totals.get(line.line_number)
            if stated is None:
                problems.append(f"leaves out line {line.line_number}")
            elif stated != line.ordered_qty:
                problems.append(
                    f"line {line.line_number}: states {_q(stated)} in all, but {_q(line.ordered_qty)} were ordered"
                )
    statuses = {line_ack.status for line_ack in ack.lines}
    if ack.of_change:
        if ack.ack_type is AckType.ACCEPTED and LineAckStatus.REJECTED in statuses:
            problems.append("says the change is accepted, but rejects some of its lines")
        if ack.ack_type is AckType.REJECTED and statuses - {LineAckStatus.REJECTED}:
            problems.append("says the change is rejected, but some lines are not")
    elif ack.lines and ack.ack_type is not ack_type_of(ack.lines):
        codes = ", ".join(sorted(status.value for status in statuses))
        problems.append(f"type is {ack.ack_type.value}, but its lines are {codes}")
    return problems


def _notice_problems(notice: ShipNotice, order: Order) -> list[str]:
    quantities = shipped_per_line(notice, order.po_number)
    if quantities is None:
        return []
    problems = []
    items = [
        item
        for shipped in notice.orders
        if shipped.po_number == order.po_number
        for item in [*shipped.items, *(i for pack in shipped.packs for i in pack.items)]
    ]
    for item in items:
        line = order.line(item.line_number)
        if line is None:
            problems.append(f"ships line {item.line_number}, which is not on {order.po_number}")
        elif item.uom != line.uom:
            problems.append(f"ships {order.po_number} line {item.line_number} in {item.uom}, ordered in {line.uom}")
    for number, amount in quantities.items():
        line = order.line(number)
        if line is not None and amount > line.shipped_qty:
            problems.append(
                f"ships {_q(amount)} of {order.po_number} line {number}, but the order records "
                f"{_q(line.shipped_qty)} shipped"
            )
    return problems
