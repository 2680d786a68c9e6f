"""The business rules: pure functions from an order and a request to an outcome, or a refusal.

Every rule takes the order as it is (never changed: it works on a deep copy), the partner's
terms where they matter, who acts and when (``now``, timezone-aware), and the request; it
returns an ``Outcome`` (the new order, the events that happened, the documents owed) or raises
``RuleRefused`` with one sentence a person understands and a ``Refusal`` code. Imports only the
canonical model and the standard library.
"""

from engine.rules.cancels import CancelRequest, bulk_cancel, cancel_items
from engine.rules.fulfilment import NO_BACKORDERS, AckChange, acknowledge_order, backorder, ship
from engine.rules.orders import receive_order
from engine.rules.outcome import (
    BulkCancelItem,
    BulkCancelResult,
    OutboundDocument,
    Outcome,
    Refusal,
    RejectionReason,
    RuleRefused,
)
from engine.rules.partner_documents import apply_partner_acknowledgement, apply_partner_ship_notice
from engine.rules.purchasing import place_order
from engine.rules.retailer_changes import (
    RETAILER_CANCEL_REASON,
    accept_changes,
    acknowledge_retailer_cancel,
    receive_change,
    refuse_retailer_cancel,
    reject_changes,
)

__all__ = [
    "NO_BACKORDERS",
    "RETAILER_CANCEL_REASON",
    "AckChange",
    "BulkCancelItem",
    "BulkCancelResult",
    "CancelRequest",
    "OutboundDocument",
    "Outcome",
    "Refusal",
    "RejectionReason",
    "RuleRefused",
    "accept_changes",
    "acknowledge_order",
    "acknowledge_retailer_cancel",
    "apply_partner_acknowledgement",
    "apply_partner_ship_notice",
    "backorder",
    "bulk_cancel",
    "cancel_items",
    "place_order",
    "receive_change",
    "receive_order",
    "refuse_retailer_cancel",
    "reject_changes",
    "ship",
]
