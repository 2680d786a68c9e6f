"""The business operations people start (from the CLI now, the portal later), one transaction
each: find the order, apply the rule, store the order, record the documents owed, then place
them in the outbox. A refused rule changes nothing and says why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from engine.db.repository import OrderFilter
from engine.db.session import UnitOfWork, unit_of_work
from engine.ingest import owe_documents
from engine.model import Actor, ActorKind, CancelReason, Order, OrderStatus, ShipNotice
from engine.outbound import flush_outbox
from engine.rules import (
    AckChange,
    Outcome,
    RuleRefused,
    accept_changes,
    acknowledge_order,
    acknowledge_retailer_cancel,
    backorder,
    bulk_cancel,
    cancel_items,
    refuse_retailer_cancel,
    reject_changes,
    ship,
)
from engine.runtime import Runtime


class NotFoundError(LookupError):
    """No such order (or more than one, when the PO number alone does not say which)."""


@dataclass
class ActionResult:
    po_number: str
    partner_id: str
    status: str
    documents: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

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


def act(
    runtime: Runtime,
    po_number: str,
    rule: Callable[[Order], Outcome],
    *,
    partner_id: str | None = None,
) -> ActionResult:
    """Apply ``rule`` to one order in one transaction; RuleRefused leaves everything as it was."""
    with unit_of_work(runtime.sessions) as uow:
        order_id, version, order = find_order(uow, po_number, partner_id)
        outcome = rule(order)
        uow.orders.save(outcome.order, expected_version=version)
        written: list[str] = []
        owe_documents(uow, runtime, runtime.partners[order.partner_id], outcome, order_id, written)
    flush_outbox(runtime)
    return ActionResult(
        po_number=outcome.order.po_number,
        partner_id=outcome.order.partner_id,
        status=outcome.order.status.value,
        documents=written,
        events=[event.kind.value for event in outcome.events],
    )


def cancel(
    runtime: Runtime,
    po_number: str,
    *,
    reason: CancelReason,
    lines: dict[str, tuple[Decimal, CancelReason | None]] | None = None,
    partner_id: str | None = None,
    who: str | None = None,
) -> ActionResult:
    """Cancel items of one order: the given lines and quantities, or all that is open."""

    def rule(order: Order) -> Outcome:
        wanted: dict[str, tuple[Decimal, CancelReason | None]] = lines or {
            line.line_number: (line.open_qty, None) for line in order.lines if line.open_qty > 0
        }
        terms = runtime.partners[order.partner_id].terms
        return cancel_items(order, wanted, reason, terms=terms, actor=user(who), now=runtime.now())

    return act(runtime, po_number, rule, partner_id=partner_id)


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
                order_id, version, order = find_order(uow, po_number)
                terms = {order.partner_id: runtime.partners[order.partner_id].terms}
                result = bulk_cancel([order], reason, terms_by_partner=terms, actor=user(who), now=runtime.now())
                item = result.items[0]
                if item.refused is not None:
                    raise item.refused
                assert item.outcome is not None
                uow.orders.save(item.outcome.order, expected_version=version)
                written: list[str] = []
                owe_documents(uow, runtime, runtime.partners[order.partner_id], item.outcome, order_id, written)
            cancelled.append(ActionResult(po_number, order.partner_id, item.outcome.order.status.value, written))
        except (RuleRefused, NotFoundError) as refusal:
            refused.append({"po_number": po_number, "reason": str(refusal)})
    flush_outbox(runtime)
    return BulkResult(cancelled, refused)


def mark_backordered(
    runtime: Runtime, po_number: str, *, line: str, ship_date: date, qty: Decimal | None = None,
    partner_id: str | None = None, who: str | None = None,
) -> ActionResult:  # fmt: skip
    def rule(order: Order) -> Outcome:
        terms = runtime.partners[order.partner_id].terms
        return backorder(
            order, line, ship_date, qty, terms=terms, actor=user(who), now=runtime.now(), today=runtime.today()
        )

    return act(runtime, po_number, rule, partner_id=partner_id)


def acknowledge(
    runtime: Runtime, po_number: str, *, changes: dict[str, AckChange] | None = None,
    partner_id: str | None = None, who: str | None = None,
) -> ActionResult:  # fmt: skip
    def rule(order: Order) -> Outcome:
        terms = runtime.partners[order.partner_id].terms
        return acknowledge_order(order, changes, terms=terms, actor=user(who), now=runtime.now(), today=runtime.today())

    return act(runtime, po_number, rule, partner_id=partner_id)


def ship_order(
    runtime: Runtime, po_number: str, notice: ShipNotice, *, partner_id: str | None = None, who: str | None = None
) -> ActionResult:
    return act(
        runtime, po_number, lambda order: ship(order, notice, actor=user(who), now=runtime.now()), partner_id=partner_id
    )


def acknowledge_cancels(runtime: Runtime, po_number: str, *, who: str | None = None) -> ActionResult:
    return act(runtime, po_number, lambda order: acknowledge_retailer_cancel(order, actor=user(who), now=runtime.now()))


def refuse_cancel(runtime: Runtime, po_number: str, *, reason: str, who: str | None = None) -> ActionResult:
    return act(
        runtime, po_number, lambda order: refuse_retailer_cancel(order, reason, actor=user(who), now=runtime.now())
    )


def answer_changes(
    runtime: Runtime, po_number: str, *, accept: bool, lines: Sequence[str] | None = None, who: str | None = None
) -> ActionResult:
    def rule(order: Order) -> Outcome:
        if accept:
            return accept_changes(order, lines or None, actor=user(who), now=runtime.now())
        return reject_changes(order, lines or None, actor=user(who), now=runtime.now())

    return act(runtime, po_number, rule)


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


def _summary(item: Any) -> dict[str, Any]:
    data = {k: getattr(item, k) for k in item.__dataclass_fields__}
    return {
        k: (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Decimal) else v) for k, v in data.items()
    }


def show_order(runtime: Runtime, po_number: str, partner_id: str | None = None) -> dict[str, Any]:
    with unit_of_work(runtime.sessions) as uow:
        _, _, order = find_order(uow, po_number, partner_id)
        return order.model_dump(mode="json")
