"""Properties of the rules over any sequence of them: quantities stay consistent, and a refused rule
(or any rule) leaves the order it was given exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine.model import (
    Acknowledgement,
    AckType,
    CancelReason,
    ChangeKind,
    ChangePurpose,
    LineAck,
    LineAckStatus,
    LineChangeRequest,
    Order,
    OrderPurpose,
    PartnerTerms,
)
from engine.rules import (
    AckChange,
    Outcome,
    Refusal,
    RuleRefused,
    accept_changes,
    acknowledge_order,
    acknowledge_retailer_cancel,
    apply_partner_acknowledgement,
    apply_partner_ship_notice,
    backorder,
    bulk_cancel,
    cancel_items,
    receive_change,
    receive_order,
    refuse_retailer_cancel,
    reject_changes,
    ship,
)
from tests.test_rules_support import NOW, PARTNER, PO, TODAY, USER, change, line, notice, order, request, snapshot

quantities = st.integers(min_value=-1, max_value=25).map(Decimal)
reasons = st.none() | st.sampled_from(list(CancelReason))
terms = st.builds(
    PartnerTerms,
    accepts_backorders=st.booleans(),
    accepts_partial_line_cancel=st.booleans(),
    requires_reason_on_every_cancelled_line=st.booleans(),
    send_order_ack_on_receipt=st.booleans(),
    reject_duplicate_po=st.booleans(),
)
dates = st.integers(min_value=-2, max_value=30).map(lambda days: TODAY + timedelta(days=days))


class AnOrdersLife(RuleBasedStateMachine):
    order: Order
    terms: PartnerTerms

    @initialize(sizes=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=4), terms=terms)
    def receive(self, sizes: list[int], terms: PartnerTerms) -> None:
        self.terms = terms
        incoming = order(*(line(str(n), size) for n, size in enumerate(sizes, start=1)))
        self.order = receive_order(None, incoming, terms=terms, document_id="first", now=NOW).order

    # -- helpers: mostly sensible requests, sometimes wrong ones, so that both paths are walked ------
    def number(self, data: st.DataObject, *, pending: bool = False) -> str:
        known = [item.line_number for item in self.order.lines]
        if pending:
            known += [item.line_number for item in self.order.pending_lines]
        if not known or data.draw(st.integers(0, 9), label="an unknown line") == 7:
            return "99"
        return data.draw(st.sampled_from(known), label="line")

    def amount(self, data: st.DataObject, number: str) -> Decimal:
        found = self.order.line(number)
        open_qty = int(found.open_qty) if found else 5
        choices = st.sampled_from([open_qty, max(open_qty - 1, 1), 1, open_qty + 1, 0]) | st.integers(-1, 25)
        return Decimal(data.draw(choices, label="quantity"))

    def apply(self, rule_: Callable[..., Outcome], *args: Any, **kwargs: Any) -> None:
        given = self.order
        before = snapshot(given)
        try:
            outcome = rule_(given, *args, **kwargs)
        except RuleRefused as refused:
            assert isinstance(refused.code, Refusal)
            assert str(refused).endswith(".") and "\n" not in str(refused)
            outcome = None
        assert snapshot(given) == before, "a rule changed the order it was given"
        if outcome is not None:
            assert outcome.order.events[len(given.events) :] == list(outcome.events)
            self.order = outcome.order

    # -- the supplier ---------------------------------------------------------------------------------
    @rule(data=st.data(), reason=reasons)
    def cancel_items(self, data: st.DataObject, reason: CancelReason | None) -> None:
        lines = {}
        for _ in range(data.draw(st.integers(0, 3), label="lines to cancel")):
            number = self.number(data)
            lines[number] = (self.amount(data, number), data.draw(reasons))
        self.apply(cancel_items, lines, reason, terms=self.terms, actor=USER, now=NOW)

    @rule(reason=st.sampled_from(list(CancelReason)))
    def bulk_cancel(self, reason: CancelReason) -> None:
        before = snapshot(self.order)
        (item,) = bulk_cancel([self.order], reason, terms_by_partner={PARTNER: self.terms}, actor=USER, now=NOW).items
        assert snapshot(self.order) == before
        assert (item.outcome is None) != (item.refused is None)
        if item.outcome is not None:
            self.order = item.outcome.order

    @rule(data=st.data(), ship_date=dates)
    def backorder(self, data: st.DataObject, ship_date: Any) -> None:
        number = self.number(data)
        amount = None if data.draw(st.booleans(), label="all open") else self.amount(data, number)
        self.apply(backorder, number, ship_date, amount, terms=self.terms, actor=USER, now=NOW, today=TODAY)

    @rule(data=st.data())
    def acknowledge_order(self, data: st.DataObject) -> None:
        changes = {}
        for _ in range(data.draw(st.integers(0, 2), label="lines acknowledged with changes")):
            number = self.number(data)
            changes[number] = AckChange(
                quantity=self.amount(data, number) if data.draw(st.booleans()) else None,
                unit_price=data.draw(st.none() | st.sampled_from([Decimal("9.50"), Decimal("8.25")])),
                ship_date=data.draw(st.none() | dates),
                reason=data.draw(reasons),
            )
        self.apply(acknowledge_order, changes, terms=self.terms, actor=USER, now=NOW, today=TODAY)

    def shipment(self, data: st.DataObject) -> list[tuple[str, int]]:
        items = []
        for _ in range(data.draw(st.integers(1, 3), label="lines shipped")):
            number = self.number(data)
            items.append((number, max(int(self.amount(data, number)), 0)))
        return items

    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        self.apply(ship, notice(*self.shipment(data)), actor=USER, now=NOW)

    # -- the retailer and the answers -------------------------------------------------------------------
    @rule(data=st.data())
    def receive_change(self, data: st.DataObject) -> None:
        if data.draw(st.booleans(), label="cancel the whole order"):
            self.apply(receive_change, change(purpose=ChangePurpose.CANCEL_ORDER), document_id="chg", now=NOW)
            return
        requests: dict[str, LineChangeRequest] = {}
        for _ in range(data.draw(st.integers(0, 3), label="lines changed")):
            kind = data.draw(st.sampled_from(list(ChangeKind)))
            number = "50" if kind is ChangeKind.ADD_ITEM else self.number(data)
            complete = data.draw(st.integers(0, 4), label="well formed") > 0
            fields = {
                "quantity": data.draw(st.integers(0, 25)) if complete or data.draw(st.booleans()) else None,
                "unit_price": "8.10" if complete or data.draw(st.booleans()) else None,
                "ship_date": data.draw(dates) if complete or data.draw(st.booleans()) else None,
            }
            requests[number] = request(number, kind, **fields)
        self.apply(receive_change, change(*requests.values()), document_id="chg", now=NOW)

    @precondition(lambda self: any(item.pending_cancel_qty for item in self.order.lines))
    @rule(data=st.data())
    def answer_cancels(self, data: st.DataObject) -> None:
        lines = None if data.draw(st.booleans(), label="all waiting") else [self.number(data)]
        if data.draw(st.booleans(), label="acknowledge"):
            self.apply(acknowledge_retailer_cancel, lines, actor=USER, now=NOW)
        else:
            self.apply(refuse_retailer_cancel, data.draw(st.sampled_from(["", "Packed."])), lines, actor=USER, now=NOW)

    @precondition(lambda self: self.order.pending_lines or any(item.pending_change for item in self.order.lines))
    @rule(data=st.data())
    def answer_changes(self, data: st.DataObject) -> None:
        lines = None if data.draw(st.booleans(), label="all waiting") else [self.number(data, pending=True)]
        if data.draw(st.booleans(), label="accept"):
            self.apply(accept_changes, lines, actor=USER, now=NOW)
        else:
            self.apply(reject_changes, lines, "No.", actor=USER, now=NOW)

    @rule(data=st.data(), purpose=st.sampled_from(list(OrderPurpose)))
    def receive_the_order_again(self, data: st.DataObject, purpose: OrderPurpose) -> None:
        sizes = data.draw(st.lists(st.integers(0, 20), min_size=1, max_size=4))
        incoming = order(*(line(str(n), size) for n, size in enumerate(sizes, start=1)), purpose=purpose)

        def again(existing: Order, incoming: Order) -> Outcome:
            return receive_order(existing, incoming, terms=self.terms, document_id="again", now=NOW)

        self.apply(again, incoming)

    # -- the other direction: the same arithmetic from a supplier's documents ---------------------------
    @rule(data=st.data())
    def partner_acknowledges(self, data: st.DataObject) -> None:
        lines = []
        for _ in range(data.draw(st.integers(0, 3), label="lines acknowledged")):
            number = self.number(data)
            quantity = None if data.draw(st.integers(0, 4)) == 0 else self.amount(data, number).max(Decimal(0))
            status = data.draw(st.sampled_from(list(LineAckStatus)))
            lines.append(LineAck(line_number=number, status=status, quantity=quantity, ship_date=data.draw(dates)))
        document = Acknowledgement(
            partner_id=PARTNER, po_number=PO, lines=lines, ack_type=data.draw(st.sampled_from(list(AckType)))
        )
        self.apply(apply_partner_acknowledgement, document, document_id="855", now=NOW)

    @rule(data=st.data())
    def partner_ships(self, data: st.DataObject) -> None:
        self.apply(apply_partner_ship_notice, notice(*self.shipment(data)), document_id="856", now=NOW)

    # -- what always holds ----------------------------------------------------------------------------
    @invariant()
    def quantities_are_consistent(self) -> None:
        for item in [*self.order.lines, *self.order.pending_lines]:
            for value in (
                item.ordered_qty,
                item.cancelled_qty,
                item.shipped_qty,
                item.backordered_qty,
                item.pending_cancel_qty,
            ):
                assert value >= 0
            assert item.shipped_qty <= item.ordered_qty - item.cancelled_qty
            assert item.open_qty == item.ordered_qty - item.cancelled_qty - item.shipped_qty
            assert item.backordered_qty <= item.open_qty
            assert item.pending_cancel_qty <= item.ordered_qty - item.cancelled_qty
        numbers = [item.line_number for item in [*self.order.lines, *self.order.pending_lines]]
        assert len(numbers) == len(set(numbers))


AnOrdersLife.TestCase.settings = settings(max_examples=120, stateful_step_count=25, deadline=None)
test_any_sequence_of_rules_keeps_quantities_consistent_and_never_changes_its_input = AnOrdersLife.TestCase
