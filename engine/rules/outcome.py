"""What a rule returns (an Outcome) or raises (RuleRefused), and the codes of its refusals."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.model import Acknowledgement, Order, OrderEvent, ShipNotice

#: A document the engine owes a partner after a rule: an 855/865, an 856, or an 850 we place.
OutboundDocument = Acknowledgement | ShipNotice | Order


class Refusal(StrEnum):
    """Why a rule refused, for machines (the portal's field highlighting, the CLI's exit codes)."""

    WRONG_ORDER = "wrong_order"  # a document for another partner or purchase order
    UNKNOWN_ORDER = "unknown_order"
    UNKNOWN_LINE = "unknown_line"
    DUPLICATE_LINE = "duplicate_line"
    TEST_DOCUMENT_FOR_LIVE_ORDER = "test_document_for_live_order"
    NOTHING_REQUESTED = "nothing_requested"
    NOTHING_OPEN = "nothing_open"
    QUANTITY_NOT_POSITIVE = "quantity_not_positive"
    QUANTITY_ABOVE_OPEN = "quantity_above_open"
    QUANTITY_ABOVE_ORDERED = "quantity_above_ordered"
    REASON_REQUIRED = "reason_required"
    PARTIAL_LINE_CANCEL_NOT_ACCEPTED = "partial_line_cancel_not_accepted"
    RETAILER_CANCEL_PENDING = "retailer_cancel_pending"
    NO_PENDING_CANCEL = "no_pending_cancel"
    NO_PENDING_CHANGE = "no_pending_change"
    CHANGE_BELOW_SHIPPED = "change_below_shipped"
    BACKORDERS_NOT_ACCEPTED = "backorders_not_accepted"
    SHIP_DATE_IN_PAST = "ship_date_in_past"
    NOT_IN_DOCUMENT = "not_in_document"
    INCONSISTENT_DOCUMENT = "inconsistent_document"
    UNSUPPORTED_PURPOSE = "unsupported_purpose"
    NO_PARTNER_TERMS = "no_partner_terms"
    SELECTED_TWICE = "selected_twice"  # the same order twice in one bulk request
    DUPLICATE_ORDER = "duplicate_order"  # a purchase order we already sent under that PO number


class RuleRefused(Exception):
    """A business rule said no. ``str()`` is one sentence a person understands; ``code`` is for
    machines; ``line_number`` says which line, when one line is the cause."""

    def __init__(self, code: Refusal, message: str, *, line_number: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line_number = line_number

    def __repr__(self) -> str:
        return f"RuleRefused({self.code.value!r}, {self.message!r})"


class RejectionReason(StrEnum):
    """Reasons the rules write that are not cancel reasons: on rejected lines of the
    acknowledgements we send (profiles translate them), and on what a supplier rejected."""

    DUPLICATE_PO = "duplicate_po"
    ALREADY_SHIPPED = "already_shipped"
    SUPPLIER_REJECTED = "supplier_rejected"  # a supplier's 855 rejected or cancelled without saying why


@dataclass(frozen=True)
class Outcome:
    """A rule's result: the order as it now is, what happened to it, and the documents owed.

    ``events`` are also the last entries of ``order.events``; ``documents`` are canonical
    documents for the mappings to write (they carry the order's test flag).
    """

    order: Order
    events: tuple[OrderEvent, ...] = ()
    documents: tuple[OutboundDocument, ...] = ()

    @property
    def acknowledgement(self) -> Acknowledgement | None:
        return next((d for d in self.documents if isinstance(d, Acknowledgement)), None)

    @property
    def ship_notice(self) -> ShipNotice | None:
        return next((d for d in self.documents if isinstance(d, ShipNotice)), None)

    @property
    def purchase_order(self) -> Order | None:
        return next((d for d in self.documents if isinstance(d, Order)), None)


@dataclass(frozen=True)
class BulkCancelItem:
    """One order of a bulk cancel: either its outcome or why it was refused, never both."""

    partner_id: str
    po_number: str
    outcome: Outcome | None = None
    refused: RuleRefused | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None


@dataclass(frozen=True)
class BulkCancelResult:
    """Every selected order, in the order given; the portal's green and red lines."""

    items: tuple[BulkCancelItem, ...]

    @property
    def cancelled(self) -> tuple[BulkCancelItem, ...]:
        return tuple(item for item in self.items if item.ok)

    @property
    def refused(self) -> tuple[BulkCancelItem, ...]:
        return tuple(item for item in self.items if not item.ok)
