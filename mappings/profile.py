"""A trading partner's profile: who they are, what they exchange and how, and what they accept.

Integration engineers write profiles as YAML files (``partners/<id>/profile.yaml``); loading
validates them (``mappings.profiles.load_profile``). Everything partner-specific lives here or in
the partner's own hook module beside it, never in engine code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.model.partner import PartnerTerms
from engine.model.reasons import CancelReason


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    RETAILER = "retailer"  # sends us orders; we are their supplier
    SUPPLIER = "supplier"  # we send them orders


class Document(StrEnum):
    ORDER = "order"  # 850 / ORDERS
    ORDER_CHANGE = "order_change"  # 860 / ORDCHG
    ORDER_ACK = "order_ack"  # 855 / ORDRSP
    CHANGE_ACK = "change_ack"  # 865 / ORDRSP
    SHIP_NOTICE = "ship_notice"  # 856 / DESADV
    FUNCTIONAL_ACK = "functional_ack"  # 997 / 999 / CONTRL


class X12Identity(Strict):
    isa_qualifier: str = Field(min_length=2, max_length=2)
    isa_id: str = Field(min_length=1, max_length=15)
    gs_code: str = Field(min_length=2, max_length=15)


class DocumentSetting(Strict):
    standard: Literal["x12", "edifact"] = "x12"
    version: str = "004010"  # GS08 for X12; e.g. D96A for EDIFACT


class Delimiters(Strict):
    """What we send: X12 delimiters (the partner's own are read from their ISA)."""

    element: str = "*"
    component: str = ">"
    repetition: str = "^"
    segment: str = "~"
    line_break: Literal["", "\n", "\r\n"] = "\n"


class Deadlines(Strict):
    """Three separate clocks, in hours (business hours are the pipeline's business)."""

    functional_ack_expected_hours: int = 24  # the 997 we expect for what we send
    order_ack_due_hours: int = 24  # the 855 we owe for their 850
    cancel_ack_due_hours: int = 24  # the acknowledgement we owe for their cancels


class ReasonCode(Strict):
    """How one of our cancel reasons is said to this partner."""

    ack_status: str = "IR"  # ACK01 (IR rejected, ID deleted, R2 invalid item, ...)
    code: str | None = None  # the partner's own reason code (REF / NTE)
    text: str | None = None


class Capabilities(Strict):
    accepts_backorders: bool = False
    backorder_date_qualifier: str = "068"  # ACK04 for the expected ship date (068 or 079 ...)
    accepts_partial_line_cancel: bool = True
    requires_reason_on_every_cancelled_line: bool = False
    supplier_cancel_document: Literal["855", "865"] = "855"  # how our cancel reaches them
    retailer_cancel_ack_document: Literal["865", "855"] = "865"  # how we acknowledge their cancel
    change_after_first_ack: Literal["855-05", "855-19", "865"] = "855-05"  # purpose code or an 865
    reasons: dict[CancelReason, ReasonCode] = {}  # the crosswalk from our reasons to theirs
    item_id_qualifiers: dict[str, str] = {  # their qualifier -> our item id kind
        "BP": "buyer_part",
        "VP": "vendor_part",
        "VN": "vendor_part",
        "UP": "upc",
        "UK": "gtin",
        "EN": "ean",
        "SK": "sku",
        "IB": "isbn",
        "MG": "manufacturer_part",
    }
    item_ids_expected: list[str] = ["buyer_part", "vendor_part", "upc"]  # what we send back, in order


class AckPolicy(Strict):
    send_order_ack: Literal["on_receipt", "manual"] = "manual"
    functional_ack_for_005010: Literal["997", "999"] = "997"
    reject_duplicate_po: bool = False  # answer a duplicate 850 with an 855 rejection (BAK02 RD)


class DuplicatePolicy(Strict):
    """What to do with an interchange control number seen before (some partners reuse ISA13)."""

    action: Literal["flag", "reject", "accept"] = "flag"
    window_days: int = 90


class Mailbox(Strict):
    """Filled in by the transport issue; a local folder pair for now."""

    kind: Literal["local"] = "local"
    inbox: str | None = None
    outbox: str | None = None


class PartnerProfile(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    role: Role = Role.RETAILER
    x12: X12Identity | None = None
    documents: dict[Document, DocumentSetting] = {}
    delimiters: Delimiters = Delimiters()
    capabilities: Capabilities = Capabilities()
    acknowledgements: AckPolicy = AckPolicy()
    deadlines: Deadlines = Deadlines()
    duplicates: DuplicatePolicy = DuplicatePolicy()
    usage: Literal["T", "P"] = "P"  # ISA15 of what we send; T keeps the partner in test mode
    mailbox: Mailbox = Mailbox()
    hooks: str | None = None  # a module beside the profile, for what data cannot say

    def exchanges(self, document: Document) -> bool:
        return document in self.documents

    def version_of(self, document: Document) -> str:
        setting = self.documents.get(document)
        return setting.version if setting else "004010"

    def reason(self, reason: CancelReason) -> ReasonCode:
        return self.capabilities.reasons.get(reason, ReasonCode())

    @property
    def terms(self) -> PartnerTerms:
        """The business facts the rules need, and nothing else."""
        return PartnerTerms(
            accepts_backorders=self.capabilities.accepts_backorders,
            accepts_partial_line_cancel=self.capabilities.accepts_partial_line_cancel,
            requires_reason_on_every_cancelled_line=self.capabilities.requires_reason_on_every_cancelled_line,
            send_order_ack_on_receipt=self.acknowledgements.send_order_ack == "on_receipt",
            reject_duplicate_po=self.acknowledgements.reject_duplicate_po,
            test_mode=self.usage == "T",
        )
