"""Our cancel reasons: one list, crosswalked to each partner's codes by its profile."""

from __future__ import annotations

from enum import StrEnum


class CancelReason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    DISCONTINUED = "discontinued"
    INVALID_ITEM = "invalid_item"
    PRICE_DISCREPANCY = "price_discrepancy"
    CANNOT_SHIP_BY_DATE = "cannot_ship_by_date"
    BAD_SHIP_TO_ADDRESS = "bad_ship_to_address"
    CUSTOMER_REQUEST = "customer_request"
    OTHER = "other"


#: How the portal and the CLI name each reason.
CANCEL_REASON_LABELS = {
    CancelReason.OUT_OF_STOCK: "Out of stock",
    CancelReason.DISCONTINUED: "Discontinued",
    CancelReason.INVALID_ITEM: "Invalid item",
    CancelReason.PRICE_DISCREPANCY: "Price discrepancy",
    CancelReason.CANNOT_SHIP_BY_DATE: "Cannot ship by date",
    CancelReason.BAD_SHIP_TO_ADDRESS: "Bad ship-to address",
    CancelReason.CUSTOMER_REQUEST: "Customer request",
    CancelReason.OTHER: "Other",
}
