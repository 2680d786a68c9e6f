"""The business operations people start (from the CLI now, the portal later), one transaction
each: find the order, apply the rule, store the order, record the documents owed, then place
them in the outbox. A refused rule changes nothing and says why.

Each action is a *rule for one order* (``cancel_rule``, ``ship_rule``, ...) so that the same
request can be carried out (``act``) or previewed (``preview``: the same rule, map and envelope
in a transaction that is rolled back, so nothing is stored and no control number is used).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from edi.text import is_digits
from engine.db.repository import OrderFilter
from engine.db.session import UnitOfWork, unit_of_work
from engine.db.tables import Interchange, OrderEventRow, OrderRow, OutboundDocument, TransactionSet
from engine.ingest import owe_documents
from engine.model import (
    Actor,
    ActorKind,
    CancelReason,
    EventKind,
    Order,
    OrderStatus,
    Pack,
    PartyRole,
    Routing,
    ShipNotice,
    ShippedItem,
    ShippedOrder,
)
from engine.outbound import OutboundError, flush_outbox
from engine.rules import (
    AckChange,
    Outcome,
    Refusal,
    RuleRefused,
    accept_changes,
    acknowledge_order,
    acknowledge_retailer_cancel,
    backorder,
    bulk_cancel,
    cancel_items,
    place_order,
    refuse_retailer_cancel,
    reject_changes,
    ship,
)
from engine.runtime import Runtime
from mappings.profile import Document, Role
from mappings.x12.asn856 import sscc_check_digit

#: A request for one order, ready to be applied to it.
Rule = Callable[[Order], Outcome]


class NotFoundError(LookupError):
    """No such order (or more than one, when the PO number alone does not say which)."""


@dataclass
class ActionResult:
    po_number: str
    partner_id: str
    status: str
    documents: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, outcome: Outcome, documents: list[str]) -> ActionResult:
        """What applying ``outcome`` did, with the documents it wrote."""
        order = outcome.order
        return cls(
            order.po_number, order.partner_id, order.status.value, documents, [e.kind.value for e in outcome.events]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "po_number": self.po_number,
            "partner_id": self.partner_id,
            "status": self.status,
            "documents": self.documents,
            "events": self.events,
        }


def user(name: str | None) -> Actor:
    return Actor(kind=ActorKind.SUPPLIER_USER, id=name or "cli")


def find_order(
    uow: UnitOfWork, po_number: str, partner_id: str | None = None, *, test: bool = False
) -> tuple[int, int, Order]:
    """(id, version, order) of the order with this PO number (and partner, when given)."""
    if partner_id is not None:
        stored = uow.orders.find(partner_id, po_number, test=test)
        if stored is None:
            raise NotFoundError(f"partner {partner_id} has no order {po_number!r}")
        return stored.id, stored.version, stored.order
    page = uow.orders.list(OrderFilter(po_prefix=po_number, test=test), limit=50)
    matches = [item for item in page.items if item.po_number == po_number]
    if not matches:
        raise NotFoundError(f"no order {po_number!r}")
    if len(matches) > 1:
        partners = ", ".join(sorted(item.partner_id for item in matches))
        raise NotFoundError(f"order {po_number!r} exists for several partners ({partners}): say which with --partner")
    stored = uow.orders.get(matches[0].id)
    return stored.id, stored.version, stored.order


def _apply(
    uow: UnitOfWork, runtime: Runtime, po_number: str, rule: Rule, partner_id: str | None
) -> tuple[int, Outcome, list[str]]:
    """Apply ``rule`` inside ``uow``: store the order and record the documents it owes."""
    order_id, version, order = find_order(uow, po_number, partner_id)
    outcome = rule(order)
    uow.orders.save(outcome.order, expected_version=version)
    written: list[str] = []
    owe_documents(uow, runtime, runtime.partners[order.partner_id], outcome, order_id, written)
    return order_id, outcome, written


def act(runtime: Runtime, po_number: str, rule: Rule, *, partner_id: str | None = None) -> ActionResult:
    """Apply ``rule`` to one order in one transaction; RuleRefused leaves everything as it was."""
    with unit_of_work(runtime.sessions) as uow:
        _, outcome, written = _apply(uow, runtime, po_number, rule, partner_id)
    flush_outbox(runtime)
    return ActionResult.of(outcome, written)


# -- the rules people apply, one order at a time ------------------------------------------------------
#: Line number -> (quantity, its own reason); a quantity of None is all that is open on the line.
CancelLines = dict[str, tuple[Decimal | None, CancelReason | None]]


def cancel_rule(
    runtime: Runtime, *, reason: CancelReason, lines: CancelLines | None = None, who: str | None = None
) -> Rule:
    """Cancel the given lines and quantities (each with its own reason, or ``reason``), or all that is open."""

    def rule(order: Order) -> Outcome:
        asked: CancelLines = lines or {
            line.line_number: (line.open_qty, None) for line in order.lines if line.open_qty > 0
        }
        if not asked:
            raise RuleRefused(Refusal.NOTHING_OPEN, f"Purchase order {order.po_number} has nothing open to cancel.")
        wanted = {number: (_open_or(order, number, quantity), why) for number, (quantity, why) in asked.items()}
        terms = runtime.partners[order.partner_id].terms
        return cancel_items(order, wanted, reason, terms=terms, actor=user(who), now=runtime.now())

    return rule


def _open_or(order: Order, line_number: str, quantity: Decimal | None) -> Decimal:
    """``quantity``, or all that is open on the line (an unknown line is the rule's to refuse: 0)."""
    if quantity is not None:
        return quantity
    line = order.line(line_number)
    return line.open_qty if line is not None else Decimal(0)


def backorder_rule(
    runtime: Runtime, *, line: str, ship_date: date, qty: Decimal | None = None, who: str | None = None
) -> Rule:
    def rule(order: Order) -> Outcome:
        terms = runtime.partners[order.partner_id].terms
        return backorder(
            order, line, ship_date, qty, terms=terms, actor=user(who), now=runtime.now(), today=runtime.today()
        )

    return rule


def acknowledge_rule(runtime: Runtime, *, changes: dict[str, AckChange] | None = None, who: str | None = None) -> Rule:
    def rule(order: Order) -> Outcome:
        terms = runtime.partners[order.partner_id].terms
        return acknowledge_order(order, changes, terms=terms, actor=user(who), now=runtime.now(), today=runtime.today())

    return rule


@dataclass(frozen=True)
class ShipLine:
    """One line's shipped quantity, in the carton with this SSCC-18 (None: loose, an SOI notice)."""

    line_number: str
    quantity: Decimal | None = None  # None: all that is open on the line
    sscc: str | None = None


@dataclass(frozen=True)
class Shipment:
    """What a person says about a shipment: carrier, tracking, date, and what went (all open when empty)."""

    carrier: str
    tracking_number: str
    ship_date: date | None = None
    lines: tuple[ShipLine, ...] = ()
    shipment_id: str | None = None


def ship_notice_for(order: Order, shipment: Shipment, *, today: date) -> ShipNotice:
    """The canonical ship notice of ``shipment`` for ``order``: packs by SSCC when cartons are named
    (structure SOPI), loose items otherwise (SOI); items named, and counted in units, as the order does."""
    lines = shipment.lines or tuple(
        ShipLine(line.line_number, line.open_qty) for line in order.lines if line.open_qty > 0
    )
    if len({item.sscc is not None for item in lines}) > 1:
        raise RuleRefused(
            Refusal.INCONSISTENT_DOCUMENT,
            "Put every shipped line in a carton (with its SSCC) or none: a ship notice lists either "
            "cartons and their contents or loose items, not both.",
        )
    for sscc in {item.sscc for item in lines if item.sscc is not None}:
        _check_sscc(sscc)
    items: list[ShippedItem] = []
    packs: dict[str, Pack] = {}
    for wanted in lines:
        line = order.line(wanted.line_number)
        item = ShippedItem(
            line_number=wanted.line_number,
            quantity=_open_or(order, wanted.line_number, wanted.quantity),
            uom=line.uom if line is not None else "EA",
            item_ids=dict(line.item_ids) if line is not None else {},
        )
        if wanted.sscc is None:
            items.append(item)
        else:
            pack = packs.setdefault(wanted.sscc, Pack(sscc=wanted.sscc))
            pack.items = [*pack.items, item]
    shipped_before = sum(1 for event in order.events if event.kind is EventKind.SHIPPED)
    parties = [p for p in (order.party(PartyRole.SHIP_FROM), order.party(PartyRole.SHIP_TO)) if p is not None]
    return ShipNotice(
        partner_id=order.partner_id,
        shipment_id=shipment.shipment_id or f"{order.po_number}-{shipped_before + 1}",
        ship_date=shipment.ship_date or today,
        routing=Routing(carrier_code=shipment.carrier),
        tracking_numbers=[shipment.tracking_number],
        parties=parties,
        orders=[ShippedOrder(po_number=order.po_number, packs=list(packs.values()), items=items)],
        test=order.test,
    )


def _check_sscc(sscc: str) -> None:
    """An SSCC-18 carton label: 18 digits (20 with the 00 identifier) ending in the GS1 check digit."""
    digits = sscc[2:] if len(sscc) == 20 and sscc.startswith("00") else sscc
    if len(digits) != 18 or not is_digits(digits):
        raise RuleRefused(Refusal.INCONSISTENT_DOCUMENT, f"{sscc!r} is not an SSCC: a carton label has 18 digits.")
    check = sscc_check_digit(digits[:17])
    if digits[17] != check:
        raise RuleRefused(
            Refusal.INCONSISTENT_DOCUMENT,
            f"SSCC {digits} ends in {digits[17]}, but its check digit is {check}: check the carton label.",
        )


def ship_rule(runtime: Runtime, shipment: Shipment, *, who: str | None = None) -> Rule:
    def rule(order: Order) -> Outcome:
        notice = ship_notice_for(order, shipment, today=runtime.today())
        return ship(order, notice, actor=user(who), now=runtime.now())

    return rule


def cancels_ack_rule(runtime: Runtime, *, lines: Sequence[str] | None = None, who: str | None = None) -> Rule:
    return lambda order: acknowledge_retailer_cancel(order, lines or None, actor=user(who), now=runtime.now())


def cancels_refuse_rule(
    runtime: Runtime, *, reason: str, lines: Sequence[str] | None = None, who: str | None = None
) -> Rule:
    return lambda order: refuse_retailer_cancel(order, reason, lines or None, actor=user(who), now=runtime.now())


def changes_rule(runtime: Runtime, *, accept: bool, lines: Sequence[str] | None = None, who: str | None = None) -> Rule:
    def rule(order: Order) -> Outcome:
        if accept:
            return accept_changes(order, lines or None, actor=user(who), now=runtime.now())
        return reject_changes(order, lines or None, actor=user(who), now=runtime.now())

    return rule


# -- the actions ---------------------------------------------------------------------------------------
def cancel(
    runtime: Runtime,
    po_number: str,
    *,
    reason: CancelReason,
    lines: CancelLines | None = None,
    partner_id: str | None = None,
    who: str | None = None,
) -> ActionResult:
    """Cancel items of one order: the given lines and quantities, or all that is open."""
    return act(runtime, po_number, cancel_rule(runtime, reason=reason, lines=lines, who=who), partner_id=partner_id)


@dataclass
class BulkResult:
    cancelled: list[ActionResult]
    refused: list[dict[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {"cancelled": [c.as_dict() for c in self.cancelled], "refused": self.refused}


def cancel_bulk(
    runtime: Runtime, po_numbers: Sequence[str], *, reason: CancelReason, who: str | None = None
) -> BulkResult:
    """Cancel whole orders with one reason; each order succeeds or fails on its own."""
    cancelled: list[ActionResult] = []
    refused: list[dict[str, str]] = []
    for po_number in po_numbers:
        try:
            with unit_of_work(runtime.sessions) as uow:
                cancelled.append(cancel_whole_order(uow, runtime, find_order(uow, po_number), reason=reason, who=who))
        except (RuleRefused, NotFoundError) as refusal:
            refused.append({"po_number": po_number, "reason": str(refusal)})
    flush_outbox(runtime)
    return BulkResult(cancelled, refused)


def cancel_whole_order(
    uow: UnitOfWork, runtime: Runtime, found: tuple[int, int, Order], *, reason: CancelReason, who: str | None
) -> ActionResult:
    """Cancel All Orders for one order, inside ``uow``: every open quantity, the one reason on every
    line; raises ``RuleRefused`` (already shipped, retailer cancel pending, ...) leaving it as it was."""
    order_id, version, order = found
    terms = {order.partner_id: runtime.partners[order.partner_id].terms}
    item = bulk_cancel([order], reason, terms_by_partner=terms, actor=user(who), now=runtime.now()).items[0]
    if item.refused is not None:
        raise item.refused
    assert item.outcome is not None
    uow.orders.save(item.outcome.order, expected_version=version)
    written: list[str] = []
    owe_documents(uow, runtime, runtime.partners[order.partner_id], item.outcome, order_id, written)
    return ActionResult.of(item.outcome, written)


def mark_backordered(
    runtime: Runtime, po_number: str, *, line: str, ship_date: date, qty: Decimal | None = None,
    partner_id: str | None = None, who: str | None = None,
) -> ActionResult:  # fmt: skip
    rule = backorder_rule(runtime, line=line, ship_date=ship_date, qty=qty, who=who)
    return act(runtime, po_number, rule, partner_id=partner_id)


def acknowledge(
    runtime: Runtime, po_number: str, *, changes: dict[str, AckChange] | None = None,
    partner_id: str | None = None, who: str | None = None,
) -> ActionResult:  # fmt: skip
    return act(runtime, po_number, acknowledge_rule(runtime, changes=changes, who=who), partner_id=partner_id)


def ship_order(
    runtime: Runtime, po_number: str, notice: ShipNotice, *, partner_id: str | None = None, who: str | None = None
) -> ActionResult:
    """Ship what a canonical ship notice lists for this order."""
    return act(
        runtime, po_number, lambda order: ship(order, notice, actor=user(who), now=runtime.now()), partner_id=partner_id
    )


def ship_shipment(
    runtime: Runtime, po_number: str, shipment: Shipment, *, partner_id: str | None = None, who: str | None = None
) -> ActionResult:
    """Ship what a person describes (carrier, tracking, cartons and quantities): the 856 goes out."""
    return act(runtime, po_number, ship_rule(runtime, shipment, who=who), partner_id=partner_id)


def acknowledge_cancels(
    runtime: Runtime, po_number: str, *, lines: Sequence[str] | None = None, who: str | None = None
) -> ActionResult:
    return act(runtime, po_number, cancels_ack_rule(runtime, lines=lines, who=who))


def refuse_cancel(
    runtime: Runtime, po_number: str, *, reason: str, lines: Sequence[str] | None = None, who: str | None = None
) -> ActionResult:
    return act(runtime, po_number, cancels_refuse_rule(runtime, reason=reason, lines=lines, who=who))


def answer_changes(
    runtime: Runtime, po_number: str, *, accept: bool, lines: Sequence[str] | None = None, who: str | None = None
) -> ActionResult:
    return act(runtime, po_number, changes_rule(runtime, accept=accept, lines=lines, who=who))


def send_order(runtime: Runtime, order: Order, *, who: str | None = None) -> ActionResult:
    """Place a purchase order with a supplier: stored, and its 850 written to the outbox.

    The supplier's 855 and 856 are later applied to this order (``engine.ingest``), so it must be
    a partner we order from, that takes 850s by X12; a PO number already sent to that partner is
    refused rather than sent twice. An order for a partner in test mode is a test order, as that
    partner's answers will be.
    """
    profile = runtime.partners.get(order.partner_id)
    if profile is None:
        raise NotFoundError(f"no partner {order.partner_id!r}")
    if profile.role is not Role.SUPPLIER:
        raise OutboundError(
            f"partner {profile.id} is a {profile.role.value}, not a supplier: purchase orders go to suppliers"
        )
    if profile.x12 is None or not profile.exchanges(Document.ORDER):
        raise OutboundError(f"partner {profile.id} takes no X12 purchase orders (850) in its profile's documents")
    if profile.terms.test_mode and not order.test:
        order = order.model_copy(update={"test": True})
    with unit_of_work(runtime.sessions) as uow:
        if uow.orders.find(profile.id, order.po_number, test=order.test) is not None:
            raise RuleRefused(
                Refusal.DUPLICATE_ORDER,
                f"Purchase order {order.po_number} is already on file for {profile.name}: "
                "send a new order under a new PO number.",
            )
        outcome = place_order(order, actor=user(who), now=runtime.now())
        stored = uow.orders.save(outcome.order)
        written: list[str] = []
        owe_documents(uow, runtime, profile, outcome, stored.id, written)
    flush_outbox(runtime)
    return ActionResult.of(outcome, written)


# -- preview: the documents an action would send, stored nowhere ---------------------------------------
@dataclass
class PreviewDocument:
    set_id: str
    content: bytes
    previous_id: int | None = None
    previous_file: str | None = None
    previous_at: datetime | None = None
    diff: str = ""

    @property
    def text(self) -> str:
        return self.content.decode("latin-1")

    def as_dict(self) -> dict[str, Any]:
        previous = None
        if self.previous_id is not None:
            at = self.previous_at.isoformat() if self.previous_at else None
            previous = {"id": self.previous_id, "file": self.previous_file, "created_at": at}
        return {"set": self.set_id, "content": self.text, "previous": previous, "diff": self.diff}


@dataclass
class Preview:
    po_number: str
    partner_id: str
    status: str  # the order's status, were the action carried out
    events: list[str]
    documents: list[PreviewDocument]

    def as_dict(self) -> dict[str, Any]:
        return {
            "po_number": self.po_number,
            "partner_id": self.partner_id,
            "status": self.status,
            "events": self.events,
            "documents": [d.as_dict() for d in self.documents],
            "stored": False,
        }


@contextmanager
def _rolled_back(runtime: Runtime) -> Iterator[UnitOfWork]:
    """A transaction that is always rolled back: the order, the documents and the control numbers
    it took are given back (see ``engine.db.control_numbers``)."""
    with runtime.sessions() as session:
        session.begin()
        try:
            yield UnitOfWork.on(session)
        finally:
            session.rollback()


def segment_lines(content: bytes) -> list[str]:
    """An interchange as one segment per line (the terminator is the character after ISA16)."""
    text = content.decode("latin-1")
    terminator = text[105] if len(text) > 105 and text.startswith("ISA") else "~"
    return [segment.strip("\r\n") for segment in text.split(terminator) if segment.strip("\r\n")]


def document_diff(before: bytes, after: bytes, *, before_name: str, after_name: str) -> str:
    """A unified diff of two interchanges, segment by segment."""
    return "\n".join(
        difflib.unified_diff(
            segment_lines(before), segment_lines(after), fromfile=before_name, tofile=after_name, lineterm=""
        )
    )


def preview(runtime: Runtime, po_number: str, rule: Rule, *, partner_id: str | None = None) -> Preview:
    """The documents ``rule`` would send for this order, each with its difference from the last
    document of the same set sent for the order; nothing is stored and nothing reaches the outbox."""
    with _rolled_back(runtime) as uow:
        before = {row.id for row in _documents_of(uow, po_number, partner_id)}
        order_id, outcome, _ = _apply(uow, runtime, po_number, rule, partner_id)
        documents: list[PreviewDocument] = []
        rows = uow.session.scalars(
            select(OutboundDocument).where(OutboundDocument.order_id == order_id).order_by(OutboundDocument.id)
        ).all()
        for row in (r for r in rows if r.id not in before):
            document = PreviewDocument(set_id=row.kind.value, content=row.content)
            earlier = [r for r in rows if r.id in before and r.kind == row.kind]
            if earlier:
                last = earlier[-1]
                document.previous_id, document.previous_file, document.previous_at = (
                    last.id,
                    last.file_name,
                    last.created_at,
                )
                document.diff = document_diff(
                    uow.outbound.content_of(last),
                    row.content,
                    before_name=f"{last.file_name} (sent {last.created_at:%Y-%m-%d %H:%M})",
                    after_name="preview (not sent)",
                )
            documents.append(document)
        return Preview(
            po_number=outcome.order.po_number,
            partner_id=outcome.order.partner_id,
            status=outcome.order.status.value,
            events=[event.kind.value for event in outcome.events],
            documents=documents,
        )


def _documents_of(uow: UnitOfWork, po_number: str, partner_id: str | None) -> list[OutboundDocument]:
    order_id, _, _ = find_order(uow, po_number, partner_id)
    return list(uow.session.scalars(select(OutboundDocument).where(OutboundDocument.order_id == order_id)))


# -- what people look at -------------------------------------------------------------------------------
def list_orders(
    runtime: Runtime, *, statuses: Sequence[str] = (), partner_id: str | None = None, po_prefix: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    with unit_of_work(runtime.sessions) as uow:
        page = uow.orders.list(
            OrderFilter(
                partner_id=partner_id, statuses=frozenset(OrderStatus(s) for s in statuses),
                po_prefix=po_prefix, test=False,
            ),
            limit=limit,
        )  # fmt: skip
        return [_summary(item) for item in page.items]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _summary(item: Any) -> dict[str, Any]:
    return {k: _plain(getattr(item, k)) for k in item.__dataclass_fields__}


def show_order(runtime: Runtime, po_number: str, partner_id: str | None = None) -> dict[str, Any]:
    with unit_of_work(runtime.sessions) as uow:
        _, _, order = find_order(uow, po_number, partner_id)
        return order.model_dump(mode="json")


def list_cancels(runtime: Runtime, *, partner_id: str | None = None) -> list[dict[str, Any]]:
    """Orders with a retailer cancel waiting for the supplier's answer, and how much on each line."""
    rows = []
    with unit_of_work(runtime.sessions) as uow:
        where = OrderFilter(partner_id=partner_id, statuses=frozenset({OrderStatus.RETAILER_CANCEL_PENDING}))
        for item in uow.orders.list(where, limit=1000).items:
            order = uow.orders.get(item.id).order
            waiting = [
                {"line_number": line.line_number, "pending_cancel_qty": str(line.pending_cancel_qty)}
                for line in order.lines
                if line.pending_cancel_qty > 0
            ]
            rows.append({**_summary(item), "lines": waiting})
    return rows


def list_changes(runtime: Runtime, *, partner_id: str | None = None) -> list[dict[str, Any]]:
    """Orders with retailer changes (quantity, price, date, added items) waiting for an answer."""
    rows = []
    with unit_of_work(runtime.sessions) as uow:
        query = (
            select(OrderRow.id)
            .join(OrderEventRow, OrderEventRow.order_id == OrderRow.id)
            .where(OrderEventRow.kind == EventKind.CHANGE_REQUESTED, OrderRow.test.is_(False))
            .distinct()
            .order_by(OrderRow.id)
        )
        if partner_id is not None:
            query = query.where(OrderRow.partner_id == partner_id)
        for order_id in uow.session.scalars(query):
            order = uow.orders.get(order_id).order
            lines = [
                {
                    "line_number": line.line_number,
                    "kind": line.pending_change.kind,
                    "quantity": _plain(line.pending_change.quantity),
                    "unit_price": _plain(line.pending_change.unit_price),
                    "ship_date": _plain(line.pending_change.ship_date),
                }
                for line in order.lines
                if line.pending_change is not None
            ]
            lines += [
                {
                    "line_number": line.line_number,
                    "kind": "add_item",
                    "quantity": _plain(line.ordered_qty),
                    "unit_price": _plain(line.unit_price),
                    "ship_date": _plain(line.requested_ship_date),
                }
                for line in order.pending_lines
            ]
            if lines:
                rows.append(
                    {"po_number": order.po_number, "partner_id": order.partner_id, "status": order.status.value}
                    | {"lines": lines}
                )
    return rows


def list_outbox(
    runtime: Runtime, *, partner_id: str | None = None, kind: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Every document we send, oldest first, with the order it is about."""
    with unit_of_work(runtime.sessions) as uow:
        query = (
            select(OutboundDocument, OrderRow.po_number)
            .outerjoin(OrderRow, OrderRow.id == OutboundDocument.order_id)
            .order_by(OutboundDocument.id)
        )
        if partner_id is not None:
            query = query.where(OutboundDocument.partner_id == partner_id)
        if kind is not None:
            query = query.where(OutboundDocument.kind == kind)
        if status is not None:
            query = query.where(OutboundDocument.status == status)
        return [
            {
                "id": d.id,
                "partner": d.partner_id,
                "kind": d.kind.value,
                "status": d.status.value,
                "file": d.file_name,
                "po_number": po,
                "interchange_control_number": d.interchange_control_number,
                "set_control_number": d.set_control_number,
                "bundle_id": d.bundle_id,  # the document whose interchange (and file) carries this one
                "created_at": _plain(d.created_at),
                "path": str(runtime.workspace.outbox_dir / d.partner_id / d.file_name) if d.file_name else None,
            }
            for d, po in uow.session.execute(query).all()
        ]


def list_interchanges(
    runtime: Runtime, *, partner_id: str | None = None, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Interchanges received, newest first, with what became of their sets."""
    with unit_of_work(runtime.sessions) as uow:
        query = select(Interchange).order_by(Interchange.id.desc()).limit(limit)
        if partner_id is not None:
            query = query.where(Interchange.partner_id == partner_id)
        if status is not None:
            query = query.where(Interchange.status == status)
        rows = []
        for ich in uow.session.scalars(query):
            sets = uow.session.scalars(
                select(TransactionSet).where(TransactionSet.interchange_id == ich.id).order_by(TransactionSet.position)
            ).all()
            rows.append(
                {
                    "id": ich.id,
                    "partner": ich.partner_id,
                    "direction": ich.direction.value,
                    "sender": ich.sender,
                    "receiver": ich.receiver,
                    "control_number": ich.control_number,
                    "test": ich.test,
                    "status": ich.status.value,
                    "duplicate_of": ich.duplicate_of_id,
                    "file": ich.file_name,
                    "size": ich.size,
                    "received_at": _plain(ich.received_at),
                    "committed_at": _plain(ich.committed_at),
                    "sets": [_set_summary(s) for s in sets],
                }
            )
        return rows


def _set_summary(ts: TransactionSet) -> dict[str, Any]:
    return {
        "position": ts.position,
        "set": ts.set_id,
        "control_number": ts.set_control_number,
        "status": ts.status.value,
    }


def list_quarantine(runtime: Runtime) -> list[dict[str, Any]]:
    """What waits for a person: the interchange (and set) held, why, and since when."""
    with unit_of_work(runtime.sessions) as uow:
        rows = []
        for entry in uow.interchanges.quarantined():
            ich = uow.interchanges.get(entry.interchange_id)
            ts = uow.session.get(TransactionSet, entry.transaction_set_id) if entry.transaction_set_id else None
            rows.append(
                {
                    "id": entry.id,
                    "interchange": entry.interchange_id,
                    "partner": ich.partner_id,
                    "file": ich.file_name,
                    "set": ts.set_id if ts else None,
                    "set_control_number": ts.set_control_number if ts else None,
                    "reason": entry.reason,
                    "findings": len(entry.findings),
                    "created_at": _plain(entry.created_at),
                }
            )
        return rows
