"""Values every business document shares: parties, addresses, references, notes, routing, actors.

Names here are business English, not X12 or EDIFACT: mappings translate standard qualifiers
(N101 ST, BEG02 DS, PO106 UP, ...) to these and back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_aware_utc)]
Quantity = Annotated[Decimal, Field(ge=0)]
Money = Decimal


def utc_now() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    """Base of every canonical value: strict about unknown fields, JSON-friendly.

    Derived values (statuses, open quantities) are written to JSON for readers and dropped
    again when JSON is read back: they are always recomputed, never trusted.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.model_computed_fields:
            return {k: v for k, v in data.items() if k not in cls.model_computed_fields}
        return data


class PartyRole(StrEnum):
    SHIP_TO = "ship_to"
    BILL_TO = "bill_to"
    BUYING_PARTY = "buying_party"
    SHIP_FROM = "ship_from"
    VENDOR = "vendor"
    REMIT_TO = "remit_to"
    STORE = "store"
    MARK_FOR = "mark_for"
    OTHER = "other"


class Address(Model):
    lines: list[str] = []
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Contact(Model):
    function: str | None = None  # e.g. buyer, delivery contact (as the partner's code)
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    fax: str | None = None


class Party(Model):
    role: PartyRole
    name: str | None = None
    id_qualifier: str | None = None  # whose code list ``id`` comes from (DUNS, store number, ...)
    id: str | None = None
    address: Address | None = None
    contacts: list[Contact] = []


class Reference(Model):
    qualifier: str  # what kind of reference (the partner's code: IA vendor number, DP department, ...)
    value: str
    description: str | None = None


class Note(Model):
    code: str | None = None  # what kind of note (gift message, instructions, ...)
    text: str


class Routing(Model):
    carrier_code: str | None = None  # SCAC
    carrier_name: str | None = None
    service_level: str | None = None
    transport_method: str | None = None
    routing: str | None = None


class Charge(Model):
    """An allowance or charge (freight, handling, discount)."""

    kind: str  # "allowance" or "charge"
    code: str | None = None
    amount: Money | None = None
    description: str | None = None


class ActorKind(StrEnum):
    SUPPLIER_USER = "supplier_user"
    RETAILER_DOCUMENT = "retailer_document"
    PARTNER_DOCUMENT = "partner_document"
    ENGINE = "engine"


class Actor(Model):
    """Who changed an order: a portal or CLI user, a partner's document, or the engine itself."""

    kind: ActorKind
    id: str | None = None  # user name, or the document's id


#: Our own names for item identifiers; mappings translate each partner's qualifiers to these.
ITEM_ID_KINDS = ("buyer_part", "vendor_part", "upc", "gtin", "ean", "sku", "isbn", "manufacturer_part", "style")
