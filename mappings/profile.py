"""A trading partner's profile: who they are, what they exchange and how, and what they accept.

Integration engineers write profiles as YAML (or TOML) files, ``partners/<id>/profile.yaml``,
holding only what differs from the defaults; ``mappings.profiles`` loads and layers them and
says where each mistake is. Everything partner-specific lives here or in the partner's own hook
module beside the profile, never in engine code.

Code values are checked against the X12 dictionary in ``edi/x12/data`` (ACK01 is element 668,
ACK04 element 374), never against a list copied here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from edi.x12.delimiters import Delimiters as X12Delimiters
from edi.x12.schema import default_schemas
from engine.model.common import ITEM_ID_KINDS
from engine.model.partner import PartnerTerms
from engine.model.reasons import CancelReason
from mappings.profile_alerts import PartnerAlerts

#: The dictionary version whose code lists profiles are checked against (the same in 005010).
CODE_LIST_VERSION = "004010"
LINE_STATUS_ELEMENT = "668"  # ACK01 Line Item Status Code
DATE_QUALIFIER_ELEMENT = "374"  # ACK04 Date/Time Qualifier


@cache
def element_codes(element: str) -> Mapping[str, str]:
    """The code list of an X12 element, from the schema data."""
    codes = default_schemas().dictionaries[CODE_LIST_VERSION].elements[element].codes
    if codes is None:  # pragma: no cover - the dictionary fixes both lists we ask for
        raise LookupError(f"element {element} has no code list in the {CODE_LIST_VERSION} dictionary")
    return codes


def cancelled_line_statuses() -> dict[str, str]:
    """The ACK01 codes that say a line will not be shipped: the dictionary's rejected and deleted ones."""
    return {
        code: meaning
        for code, meaning in element_codes(LINE_STATUS_ELEMENT).items()
        if "Rejected" in meaning or "Deleted" in meaning
    }


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


#: What each kind of partner sends us; we send them the rest. Functional acks go both ways.
SENT_BY: dict[Role, frozenset[Document]] = {
    Role.RETAILER: frozenset({Document.ORDER, Document.ORDER_CHANGE, Document.FUNCTIONAL_ACK}),
    Role.SUPPLIER: frozenset({Document.ORDER_ACK, Document.CHANGE_ACK, Document.SHIP_NOTICE, Document.FUNCTIONAL_ACK}),
}


def _no_padding(value: str) -> str:
    if value != value.strip():
        raise ValueError(f"{value!r} has leading or trailing spaces; the ISA pads identifiers itself")
    return value


class X12Identity(Strict):
    isa_qualifier: str = Field(min_length=2, max_length=2)  # ISA05 / ISA07
    isa_id: str = Field(min_length=1, max_length=15)  # ISA06 / ISA08, without the padding
    gs_code: str = Field(min_length=2, max_length=15)  # GS02 / GS03

    _unpadded = field_validator("isa_qualifier", "isa_id", "gs_code")(_no_padding)

    @property
    def interchange(self) -> tuple[str, str]:
        """(qualifier, id), as ``edi.x12.writer.build_interchange`` takes a party."""
        return self.isa_qualifier, self.isa_id


class DocumentSetting(Strict):
    standard: Literal["x12", "edifact"] = "x12"
    version: str = Field(default="004010", min_length=1)  # GS08 for X12; e.g. D96A for EDIFACT

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("standard", "x12") == "x12":
            schemas = default_schemas()
            if not schemas.knows_version(value):
                known = ", ".join(sorted(schemas.dictionaries))
                raise ValueError(f"X12 version {value!r} has no schemas here (known: {known})")
        return value


class Delimiters(Strict):
    """What we send: X12 delimiters (the partner's own are read from their ISA)."""

    element: str = "*"
    component: str = ">"
    repetition: str = "^"
    segment: str = "~"
    line_break: Literal["", "\n", "\r\n"] = "\n"

    @model_validator(mode="after")
    def _usable(self) -> Delimiters:
        x12 = X12Delimiters(
            element=self.element, component=self.component, segment=self.segment, repetition=self.repetition
        )
        problems = [problem for _, problem in x12.collisions()]
        problems += [
            f"the line break contains the {role} separator"
            for char, role in x12.by_character().items()
            if char in self.line_break
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Deadlines(Strict):
    """Three separate clocks, in hours (business hours are the pipeline's business)."""

    functional_ack_expected_hours: int = Field(default=24, ge=1)  # the 997 we expect for what we send
    order_ack_due_hours: int = Field(default=24, ge=1)  # the 855 we owe for their 850
    cancel_ack_due_hours: int = Field(default=24, ge=1)  # the acknowledgement we owe for their cancels


class ReasonCode(Strict):
    """How one of our cancel reasons is said to this partner."""

    ack_status: str = "IR"  # ACK01 (IR rejected, ID deleted, R2 invalid item, ...)
    code: str | None = Field(default=None, min_length=1)  # the partner's own reason code (REF / NTE)
    text: str | None = Field(default=None, min_length=1)

    @field_validator("ack_status")
    @classmethod
    def _cancel_status(cls, value: str) -> str:
        statuses = element_codes(LINE_STATUS_ELEMENT)
        if value not in statuses:
            raise ValueError(
                f"{value!r} is not an ACK01 Line Item Status Code (element 668); the codes are {', '.join(statuses)}"
            )
        # A cancelled line is acknowledged as rejected or deleted; "IA Item Accepted" would tell
        # the partner we ship it.
        cancelled = cancelled_line_statuses()
        if value not in cancelled:
            raise ValueError(
                f"ACK01 {value!r} means {statuses[value]!r}, but a cancelled line needs a rejected or "
                f"deleted status: {', '.join(cancelled)}"
            )
        return value


class Capabilities(Strict):
    accepts_backorders: bool = False
    backorder_date_qualifier: str = "068"  # ACK04 for the expected ship date (068 or 079 ...)
    accepts_partial_line_cancel: bool = True
    requires_reason_on_every_cancelled_line: bool = False
    supplier_cancel_document: Literal["855", "865"] = "855"  # how our cancel reaches them
    retailer_cancel_ack_document: Literal["865", "855"] = "865"  # how we acknowledge their cancel
    change_after_first_ack: Literal["855-05", "855-19", "865"] = "855-05"  # purpose code or an 865
    # The crosswalk from our reasons to theirs (checked even when left out: a partner that needs
    # a reason on every line needs all of them).
    reasons: dict[CancelReason, ReasonCode] = Field(default={}, validate_default=True)
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
    # What we send back, in order; checked against item_id_qualifiers even when left out.
    item_ids_expected: list[str] = Field(default=["buyer_part", "vendor_part", "upc"], validate_default=True)

    @field_validator("backorder_date_qualifier")
    @classmethod
    def _date_qualifier(cls, value: str) -> str:
        qualifiers = element_codes(DATE_QUALIFIER_ELEMENT)
        if value not in qualifiers:
            raise ValueError(f"{value!r} is not an ACK04 Date/Time Qualifier (element 374), e.g. 068 or 079")
        return value

    @field_validator("reasons")
    @classmethod
    def _every_reason_when_required(
        cls, value: dict[CancelReason, ReasonCode], info: ValidationInfo
    ) -> dict[CancelReason, ReasonCode]:
        if info.data.get("requires_reason_on_every_cancelled_line"):
            missing = [reason.value for reason in CancelReason if reason not in value or value[reason].code is None]
            if missing:
                raise ValueError(
                    "this partner requires a reason on every cancelled line, so every one of our reasons "
                    f"needs its code; missing: {', '.join(missing)}"
                )
        return value

    @field_validator("item_id_qualifiers")
    @classmethod
    def _item_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        problems = [
            f"{qualifier}: {kind!r} is not an item id kind"
            for qualifier, kind in value.items()
            if kind not in ITEM_ID_KINDS
        ]
        problems += [
            f"{qualifier!r} is not a two-character qualifier (element 235)"
            for qualifier in value
            if len(qualifier) != 2 or not qualifier.isalnum() or qualifier != qualifier.upper()
        ]
        if problems:
            raise ValueError("; ".join(problems) + f" (kinds: {', '.join(ITEM_ID_KINDS)})")
        return value

    @field_validator("item_ids_expected")
    @classmethod
    def _sayable(cls, value: list[str], info: ValidationInfo) -> list[str]:
        qualifiers = info.data.get("item_id_qualifiers")
        if qualifiers is None:
            return value  # item_id_qualifiers has its own error
        kinds = set(qualifiers.values())
        unsayable = [kind for kind in value if kind not in kinds]
        if unsayable:
            raise ValueError(
                f"{', '.join(map(repr, unsayable))} cannot be sent: item_id_qualifiers has no qualifier for it"
            )
        return value


class AckPolicy(Strict):
    send_order_ack: Literal["on_receipt", "manual"] = "manual"
    functional_ack_for_005010: Literal["997", "999"] = "997"
    reject_duplicate_po: bool = False  # answer a duplicate 850 with an 855 rejection (BAK02 RD)


class DuplicatePolicy(Strict):
    """What to do with an interchange control number seen before (some partners reuse ISA13)."""

    action: Literal["flag", "reject", "accept"] = "flag"
    window_days: int = Field(default=90, ge=1)


class Envelopes(Strict):
    """How many of the documents we owe the partner travel in one interchange (and one file).

    With 1 (the default) every document is an interchange of its own. With more, the documents
    of one kind that one run owes the partner (the 855s for a file of 850s) go out together: one
    interchange with one functional group of up to this many sets, one ISA13 and GS06 for all.
    Each document keeps its own record, order, ST02 and 997 status.
    """

    sets_per_interchange: int = Field(default=1, ge=1, le=10_000)


class Secret(Strict):
    """Where a secret is kept: an environment variable, or a file (relative to the partner's
    folder). Never the secret itself: profiles are committed and shown, secrets are not."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_the_secret(cls, data: object) -> object:
        if isinstance(data, str):
            raise ValueError(
                "a secret is never written in the profile: name an environment variable (env: NAME) "
                "or a file (file: path) that holds it"
            )
        return data

    @model_validator(mode="after")
    def _one_place(self) -> Secret:
        if (self.env is None) == (self.file is None):
            raise ValueError("name exactly one of env or file")
        return self


class Retries(Strict):
    """Tries of a mailbox operation, with exponential backoff and jitter between them."""

    attempts: int = Field(default=3, ge=1, le=20)
    base_seconds: float = Field(default=0.5, gt=0, le=60)
    cap_seconds: float = Field(default=30.0, gt=0, le=3600)


AfterFetch = Literal["delete", "move"]
DEFAULT_POLL_SECONDS = 60.0


class PollSchedule(Strict):
    """When the scheduler polls the mailbox: every so many seconds (default 60), or on a cron
    schedule (five fields: minute hour day month weekday) in the partner's time zone, which keeps
    "9:00 on weekdays" at 9:00 local time across daylight-saving changes."""

    every_seconds: float | None = Field(default=None, gt=0, le=86_400)
    cron: str | None = None
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name (e.g. America/New_York)") from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger  # only profiles with a cron schedule need it

            try:
                CronTrigger.from_crontab(value)
            except ValueError as error:
                raise ValueError(f"{value!r} is not a cron schedule (minute hour day month weekday): {error}") from None
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> PollSchedule:
        if self.every_seconds is not None and self.cron is not None:
            raise ValueError("give every_seconds or cron, not both")
        return self


class _Mailbox(Strict):
    #: What happens to an inbound file once its interchange is committed on our side.
    after_fetch: AfterFetch = "delete"
    #: A file listed with the same size and time twice, or untouched this long, is complete.
    settle_seconds: float = Field(default=5.0, ge=0, le=3600)
    poll: PollSchedule = PollSchedule()


class LocalFolders(_Mailbox):
    """Two folders on the engine's disk (paths relative to the workspace): the demo's mailboxes,
    or a drop folder a partner's own tool writes to."""

    kind: Literal["local"] = "local"
    inbox: str | None = None  # default: <workspace inbox>/<partner id>
    outbox: str | None = None  # default: <workspace outbox>/<partner id>
    archive: str | None = None  # where fetched files go with after_fetch: move

    @model_validator(mode="after")
    def _archive_to_move_to(self) -> LocalFolders:
        if self.after_fetch == "move" and self.archive is None:
            raise ValueError("after_fetch: move needs an archive folder")
        return self


class SftpServer(_Mailbox):
    """The partner's SFTP server: we fetch from ``inbound_dir`` and upload to ``outbound_dir``.

    The server's host key must be in ``known_hosts`` (relative to the partner's folder; add it
    with ``edi-engine partners trust-host-key``): an unknown or changed key refuses the connection.
    """

    kind: Literal["sftp"]
    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    known_hosts: str = "known_hosts"
    key_file: str | None = None  # a private key file, relative to the partner's folder
    key_passphrase: Secret | None = None
    password: Secret | None = None
    inbound_dir: str = "."
    outbound_dir: str = "."
    archive_dir: str | None = None  # on the server, for after_fetch: move
    pattern: str = "*"  # which inbound names to fetch (shell pattern)
    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    operation_timeout: float = Field(default=30.0, gt=0, le=3600)
    retries: Retries = Retries()

    @model_validator(mode="after")
    def _usable(self) -> SftpServer:
        if self.key_file is None and self.password is None:
            raise ValueError("name a key_file or a password secret to log in with")
        if self.after_fetch == "move" and self.archive_dir is None:
            raise ValueError("after_fetch: move needs an archive_dir on the server")
        return self


class KeyFile(Strict):
    """One of our private keys with its certificate, both PEM in one file, and where its passphrase is."""

    file: str = Field(min_length=1)
    passphrase: Secret | None = None


As2Encryption = Literal["aes_128_cbc", "aes_192_cbc", "aes_256_cbc", "tripledes_192_cbc"]
As2Digest = Literal["sha1", "sha256", "sha384", "sha512"]


class As2Server(Strict):
    """The partner's AS2 endpoint and our agreement with it. They post to our ``POST /as2``; we
    post to ``url``. ``sign`` and ``encrypt`` hold both ways: what we send is signed and encrypted,
    and what they send unsigned or unencrypted is refused.

    ``certificates`` are theirs (PEM files in the partner's folder), the current one first: during
    a rollover both verify what they send. ``our_keys`` default to the workspace's ``[as2] keys``.
    """

    kind: Literal["as2"]
    url: str = Field(pattern=r"^https?://[^\s]+$")
    as2_id: str = Field(min_length=1, max_length=128, pattern=r'^[^"\\\s]([^"\\]*[^"\\\s])?$')
    our_as2_id: str | None = Field(default=None, min_length=1, max_length=128)
    certificates: list[str] = []
    our_keys: list[KeyFile] = []
    sign: bool = True
    encrypt: bool = True
    compress: bool = False
    encryption: As2Encryption = "aes_256_cbc"
    digest: As2Digest = "sha256"
    mdn: Literal["sync", "async", "none"] = "sync"
    signed_mdn: bool = True
    #: With an asynchronous MDN: how long to wait for it before sending the message again.
    mdn_wait_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    tls_ca: str | None = None  # a CA file (partner's folder) for their HTTPS certificate; default: the system's
    #: Resends of an undelivered message (same Message-ID), with exponential backoff and jitter.
    retries: Retries = Retries(attempts=10, base_seconds=30.0, cap_seconds=3600.0)
    #: How often pending documents are sent and undelivered ones resent.
    poll: PollSchedule = PollSchedule()

    @model_validator(mode="after")
    def _certificates_for_security(self) -> As2Server:
        if (self.sign or self.encrypt or (self.signed_mdn and self.mdn != "none")) and not self.certificates:
            raise ValueError(
                "signing, encryption and signed MDNs need the partner's certificate (certificates: [file])"
            )
        return self


def _mailbox_kind(value: object) -> str:
    """A mailbox without a kind is local folders (the default, and profiles written before SFTP)."""
    kind = value.get("kind", "local") if isinstance(value, dict) else getattr(value, "kind", "local")
    return str(kind)


Mailbox = Annotated[
    Annotated[LocalFolders, Tag("local")] | Annotated[SftpServer, Tag("sftp")] | Annotated[As2Server, Tag("as2")],
    Discriminator(_mailbox_kind, custom_error_type="mailbox_kind",
                  custom_error_message="kind must be local, sftp or as2"),
]  # fmt: skip


#: Settings that hold one of several kinds, by key path, with their kinds' tags.
TAGGED_UNIONS: Mapping[tuple[str | int, ...], frozenset[str]] = {("mailbox",): frozenset({"local", "sftp", "as2"})}


class PartnerProfile(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    role: Role = Role.RETAILER
    x12: X12Identity | None = None
    documents: dict[Document, DocumentSetting] = {}
    delimiters: Delimiters = Delimiters()
    capabilities: Capabilities = Capabilities()
    acknowledgements: AckPolicy = AckPolicy()
    deadlines: Deadlines = Deadlines()
    duplicates: DuplicatePolicy = DuplicatePolicy()
    envelopes: Envelopes = Envelopes()
    alerts: PartnerAlerts = PartnerAlerts()  # more recipients, kinds not sent (mappings.profile_alerts)
    usage: Literal["T", "P"] = "P"  # ISA15 of what we send; T keeps the partner in test mode
    mailbox: Mailbox = LocalFolders()
    #: The supplier organisation (``[[organisations]]`` in edi-engine.toml) that trades with this
    #: partner; default: the workspace's first (or only) one.
    organisation: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    # A Python file beside the profile, for what data cannot say (mappings.profiles.PartnerHooks).
    hooks: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.py$")

    @field_validator("documents")
    @classmethod
    def _x12_needs_identity(
        cls, value: dict[Document, DocumentSetting], info: ValidationInfo
    ) -> dict[Document, DocumentSetting]:
        # x12 is validated first; when it failed it is absent here and has its own error.
        if "x12" in info.data and info.data["x12"] is None:
            x12 = [document.value for document, setting in value.items() if setting.standard == "x12"]
            if x12:
                raise ValueError(
                    f"{', '.join(x12)} {'is' if len(x12) == 1 else 'are'} exchanged by X12, so the profile "
                    "needs an x12 identity (isa_qualifier, isa_id, gs_code)"
                )
        return value

    def exchanges(self, document: Document) -> bool:
        return document in self.documents

    def version_of(self, document: Document) -> str:
        setting = self.documents.get(document)
        return setting.version if setting else "004010"

    def sends(self, document: Document) -> bool:
        """Whether this partner sends us the document (rather than receiving it from us)."""
        return document in SENT_BY[self.role]

    def functional_ack_for(self, gs08: str) -> Literal["997", "999"]:
        """The functional acknowledgement owed for one of their groups of version GS08."""
        if default_schemas().version_of(gs08) >= "005010":
            return self.acknowledgements.functional_ack_for_005010
        return "997"

    def reason(self, reason: CancelReason) -> ReasonCode:
        """How our reason is said to this partner (ACK01 IR and no code when the profile is silent)."""
        return self.capabilities.reasons.get(reason, ReasonCode())

    def crosswalk(self) -> dict[CancelReason, ReasonCode]:
        """Every one of our reasons with the partner's status, code and text."""
        return {reason: self.reason(reason) for reason in CancelReason}

    def reason_for_code(self, code: str) -> CancelReason | None:
        """Our reason for one of the partner's codes (when several share it: OTHER, else the first)."""
        matches = [reason for reason in CancelReason if self.reason(reason).code == code]
        if not matches:
            return None
        return CancelReason.OTHER if CancelReason.OTHER in matches else matches[0]

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
