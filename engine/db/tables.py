"""The tables: what the engine keeps between runs, as typed SQLAlchemy 2 mappings.

The canonical JSON of an order is the record; the order's columns and its line and event rows
are copies kept in step with it on every save, there to be searched and listed. Statuses that
belong to the database alone (an interchange's, an outbound document's) are defined here.

Every constraint has a name (``NAMING``), so migrations can refer to it on both backends. The
migration in ``migrations/versions`` must describe exactly these tables; a test compares them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from edi.x12.control_numbers import ControlLevel
from engine.db.types import Amount, EnumText, UtcDateTime
from engine.model import ActorKind, EventKind, LineStatus, OrderStatus
from mappings.profile import Role as PartnerRole
from mappings.profile_alerts import AlertKind

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UtcDateTime(),
        Decimal: Amount(),
        str: String(),
        bytes: LargeBinary(),
        dict[str, Any]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


def one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """``column IN (...)`` over an enum's values; the migration spells out the same text."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=column)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class InterchangeStatus(StrEnum):
    RECEIVED = "received"  # archived, not yet applied: processed again after a crash or a re-fetch
    COMMITTED = "committed"  # applied, in the same transaction as everything it caused
    DUPLICATE = "duplicate"  # the same bytes from the same sender as a committed interchange
    REJECTED = "rejected"  # the envelope was refused (a TA1 said why)


class SetStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"  # held for a person: readable, but not safe to apply


class OutboundKind(StrEnum):
    """What we send, by the X12 transaction set (or segment, for TA1) that carries it."""

    FUNCTIONAL_ACK = "997"
    IMPLEMENTATION_ACK = "999"
    INTERCHANGE_ACK = "TA1"
    ORDER_ACK = "855"
    CHANGE_ACK = "865"
    SHIP_NOTICE = "856"
    PURCHASE_ORDER = "850"  # an order we place with a supplier


class OutboundStatus(StrEnum):
    PENDING = "pending"  # written, not yet delivered
    SENT = "sent"  # delivered; waiting for the partner's 997 when one is due
    ACCEPTED = "accepted"  # the partner's 997/999 accepted it (A or E)
    REJECTED = "rejected"  # the partner's 997/999 rejected it (R, or P with this set rejected)
    OVERDUE = "overdue"  # the expected 997 did not arrive by ``due_at``


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (one_of("role", PartnerRole),)

    id: Mapped[str] = mapped_column(primary_key=True)  # the profile's id
    name: Mapped[str]
    role: Mapped[PartnerRole] = mapped_column(EnumText(PartnerRole))
    profile_hash: Mapped[str | None]  # sha256 of the profile as loaded: tells when it changed
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The supplier organisation that trades with this partner (``organisation`` in the profile);
    #: the portal shows a user only the orders of its organisation's partners.
    organisation_id: Mapped[str | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Interchange(Base):
    """One file as it arrived (or left), archived byte for byte.

    The bytes live in the row: portable across both backends, covered by the same backup and
    written in the same transaction as the record of receipt.
    """

    __tablename__ = "interchanges"
    __table_args__ = (
        one_of("direction", Direction),
        one_of("status", InterchangeStatus),
        # The duplicate key covers committed interchanges only, so a file that was archived but
        # never applied (a crash, a re-fetch) is processed normally when it comes again.
        Index(
            "uq_interchanges_committed_sender_sha256",
            "sender",
            "sha256",
            unique=True,
            sqlite_where=text("status = 'committed'"),
            postgresql_where=text("status = 'committed'"),
        ),
        Index("ix_interchanges_sender_sha256", "sender", "sha256"),
        Index("ix_interchanges_sender_control_number", "sender", "control_number"),
        Index("ix_interchanges_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))
    direction: Mapped[Direction] = mapped_column(EnumText(Direction))
    sender: Mapped[str | None]  # ISA05:ISA06, as control numbers name it; None when the ISA is unreadable
    receiver: Mapped[str | None]  # ISA07:ISA08
    control_number: Mapped[str | None]  # ISA13 as read
    test: Mapped[bool] = mapped_column(Boolean, default=False)  # ISA15 T
    sha256: Mapped[str]
    size: Mapped[int]
    content: Mapped[bytes | None]  # None for a duplicate: the original's row holds the same bytes
    file_name: Mapped[str | None]  # as the mailbox named it (hostile input: stored, never used as a path)
    status: Mapped[InterchangeStatus] = mapped_column(EnumText(InterchangeStatus))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("interchanges.id"))
    reason: Mapped[str | None]  # why it was rejected
    received_at: Mapped[datetime]
    committed_at: Mapped[datetime | None]

    sets: Mapped[list[TransactionSet]] = relationship(
        back_populates="interchange", order_by="TransactionSet.position", cascade="all, delete-orphan"
    )


class TransactionSet(Base):
    __tablename__ = "transaction_sets"
    __table_args__ = (UniqueConstraint("interchange_id", "position"), one_of("status", SetStatus))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interchange_id: Mapped[int] = mapped_column(ForeignKey("interchanges.id", ondelete="CASCADE"))
    position: Mapped[int]  # 1 for the interchange's first set, counted across its groups
    group_control_number: Mapped[str | None]  # GS06
    set_control_number: Mapped[str | None]  # ST02
    set_id: Mapped[str | None]  # ST01, e.g. 850
    status: Mapped[SetStatus] = mapped_column(EnumText(SetStatus))
    findings: Mapped[list[dict[str, Any]]]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))

    interchange: Mapped[Interchange] = relationship(back_populates="sets")


class QuarantineEntry(Base):
    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interchange_id: Mapped[int] = mapped_column(ForeignKey("interchanges.id", ondelete="CASCADE"), index=True)
    transaction_set_id: Mapped[int | None] = mapped_column(ForeignKey("transaction_sets.id", ondelete="CASCADE"))
    reason: Mapped[str]
    findings: Mapped[list[dict[str, Any]]]
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None]


class OrderRow(Base):
    """An order: its canonical JSON, and the columns lists and searches need."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("partner_id", "po_number", "test"),
        one_of("status", OrderStatus),
        Index("ix_orders_status", "status"),
        Index("ix_orders_po_number", "po_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    po_number: Mapped[str]
    test: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[OrderStatus] = mapped_column(EnumText(OrderStatus))
    order_date: Mapped[date | None]
    ship_by_date: Mapped[date | None]
    retailer: Mapped[str | None]  # the buying party's name, when the order names one
    total: Mapped[Decimal | None]
    ordered_qty: Mapped[Decimal]
    open_qty: Mapped[Decimal]
    acknowledged: Mapped[bool] = mapped_column(Boolean)
    document: Mapped[dict[str, Any]]  # the canonical order (engine.model.Order) as JSON
    version: Mapped[int] = mapped_column()  # optimistic lock: each update checks and bumps it
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    lines: Mapped[list[OrderLineRow]] = relationship(
        back_populates="order", order_by="OrderLineRow.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[OrderEventRow]] = relationship(
        back_populates="order", order_by="OrderEventRow.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    # Lines are kept by position: the canonical model does not forbid two lines with one number.
    __table_args__ = (UniqueConstraint("order_id", "position"), one_of("status", LineStatus))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int]
    line_number: Mapped[str]
    ordered_qty: Mapped[Decimal]
    cancelled_qty: Mapped[Decimal]
    backordered_qty: Mapped[Decimal]
    shipped_qty: Mapped[Decimal]
    pending_cancel_qty: Mapped[Decimal]
    open_qty: Mapped[Decimal]
    status: Mapped[LineStatus] = mapped_column(EnumText(LineStatus))

    order: Mapped[OrderRow] = relationship(back_populates="lines")


class OrderEventRow(Base):
    __tablename__ = "order_events"
    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        one_of("kind", EventKind),
        one_of("actor_kind", ActorKind),
        Index("ix_order_events_document_id", "document_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[EventKind] = mapped_column(EnumText(EventKind))
    at: Mapped[datetime]
    actor_kind: Mapped[ActorKind] = mapped_column(EnumText(ActorKind))
    actor_id: Mapped[str | None]
    reason: Mapped[str | None]
    document_id: Mapped[str | None]
    detail: Mapped[dict[str, Any]]  # the canonical event as JSON

    order: Mapped[OrderRow] = relationship(back_populates="events")


class OutboundDocument(Base):
    """A document we send, from the moment it is written until its 997 comes back (or does not)."""

    __tablename__ = "outbound_documents"
    __table_args__ = (
        # One cause, one document: the same inbound group is never acknowledged twice, the
        # same order never gets two 855s for one decision.
        UniqueConstraint("cause_key"),
        one_of("kind", OutboundKind),
        one_of("status", OutboundStatus),
        Index("ix_outbound_documents_partner_id_group_control_number", "partner_id", "group_control_number"),
        Index("ix_outbound_documents_status_due_at", "status", "due_at"),
        Index("ix_outbound_documents_bundle_id", "bundle_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    kind: Mapped[OutboundKind] = mapped_column(EnumText(OutboundKind))
    cause_key: Mapped[str]
    status: Mapped[OutboundStatus] = mapped_column(EnumText(OutboundStatus))
    sender: Mapped[str | None]  # ISA05:ISA06 we wrote
    receiver: Mapped[str | None]
    interchange_control_number: Mapped[int | None]  # ISA13
    group_control_number: Mapped[int | None]  # GS06 (none for a TA1)
    set_control_number: Mapped[int | None]  # ST02 (none for a TA1)
    file_name: Mapped[str | None]
    content: Mapped[bytes]
    interchange_id: Mapped[int | None] = mapped_column(ForeignKey("interchanges.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    #: The document whose interchange carries this one, when it went out with others (see
    #: ``OutboundRepository.add_bundles``): its content and its file are the carrier's.
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_documents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # when the partner's 997 is expected by
    acknowledged_at: Mapped[datetime | None]
    ack_result: Mapped[dict[str, Any] | None]  # what the partner's 997/999 said (codes, errors)


class ControlCounter(Base):
    """The last control number handed out, per level and sender/receiver pair (as X12 scopes them)."""

    __tablename__ = "control_counters"
    __table_args__ = (one_of("level", ControlLevel),)

    level: Mapped[ControlLevel] = mapped_column(EnumText(ControlLevel), primary_key=True)
    sender: Mapped[str] = mapped_column(primary_key=True)
    receiver: Mapped[str] = mapped_column(primary_key=True)
    last_value: Mapped[int]


class MailboxRow(Base):
    """A partner's mailbox as the scheduler sees it: who holds its lease, and how its polls went.

    One poller at a time: a worker polls only while it holds the lease (``owner`` until
    ``expires_at``); ``token`` goes up with every grant, so a worker whose lease lapsed and was
    granted to another can tell that its own is no longer valid.
    """

    __tablename__ = "mailboxes"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str | None]
    token: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None]
    last_poll_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
    last_error_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]  # the first failed poll of the failures still going on
    files_fetched: Mapped[int] = mapped_column(Integer, default=0)


class As2Status(StrEnum):
    SENDING = "sending"  # built and (being) sent; no verified MDN yet
    DELIVERED = "delivered"  # the partner's MDN said processed, and it verified
    FAILED = "failed"  # the MDN was negative or failed verification; resent with the same Message-ID
    RECEIVED = "received"  # an inbound message stored through ingest
    REFUSED = "refused"  # an inbound message refused (security, unknown partner, ...)


class As2Message(Base):
    """One AS2 message, sent or received, with its MDN kept as proof of delivery.

    An outbound message keeps its Message-ID across resends, so the partner can tell a resend
    from a new document; an inbound Message-ID seen again is answered without a second ingest.
    """

    __tablename__ = "as2_messages"
    __table_args__ = (
        UniqueConstraint("partner_id", "direction", "message_id"),
        one_of("direction", Direction),
        one_of("status", As2Status),
        Index("ix_as2_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(EnumText(Direction))
    message_id: Mapped[str]
    status: Mapped[As2Status] = mapped_column(EnumText(As2Status))
    outbound_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_documents.id", ondelete="CASCADE"), unique=True
    )
    file_name: Mapped[str | None]
    mic: Mapped[str | None]  # base64 digest and algorithm of what was signed
    mdn: Mapped[bytes | None]  # the MDN as received (outbound) or as sent (inbound): headers and body
    mdn_url: Mapped[str | None]  # inbound: where the sender asked for its MDN (asynchronous)
    mdn_sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeliveryStatus(StrEnum):
    """Where an alert stands on one channel (e-mail, webhook)."""

    PENDING = "pending"  # to be sent at ``next_attempt_at`` (again, after a failure)
    SENT = "sent"
    FAILED = "failed"  # given up after the configured number of attempts
    SKIPPED = "skipped"  # never sent here: channel not configured, kind off, or it predates alerts


class Alert(Base):
    """Something a person is told about, recorded once (``key``) and sent on each channel on its own.

    Detection may find the same condition any number of times; the unique key makes the first
    finding the only one. Each channel keeps its own state, so a failing one never holds up the other.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("key"),
        one_of("kind", AlertKind),
        one_of("email_status", DeliveryStatus),
        one_of("webhook_status", DeliveryStatus),
        Index("ix_alerts_email_status_email_next_attempt_at", "email_status", "email_next_attempt_at"),
        Index("ix_alerts_webhook_status_webhook_next_attempt_at", "webhook_status", "webhook_next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str]  # the condition, e.g. "rejected_997:42": found again, it is the same alert
    kind: Mapped[AlertKind] = mapped_column(EnumText(AlertKind))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    subject: Mapped[str]
    text: Mapped[str]
    occurred_at: Mapped[datetime]  # when the condition arose (the event, the 997's deadline, ...)
    created_at: Mapped[datetime]  # when it was recorded
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)  # existed when alerts started: never sent
    email_status: Mapped[DeliveryStatus] = mapped_column(EnumText(DeliveryStatus))
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_next_attempt_at: Mapped[datetime | None]
    email_sent_at: Mapped[datetime | None]
    email_last_error: Mapped[str | None]
    webhook_status: Mapped[DeliveryStatus] = mapped_column(EnumText(DeliveryStatus))
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_next_attempt_at: Mapped[datetime | None]
    webhook_sent_at: Mapped[datetime | None]
    webhook_last_error: Mapped[str | None]


class AlertStart(Base):
    """When this database first looked for alerts (one row). What existed then was recorded as a
    baseline, never sent: turning alerts on does not mail a person every old condition."""

    __tablename__ = "alert_start"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    started_at: Mapped[datetime]
    baseline: Mapped[int]  # how many conditions were recorded then without being sent


class OrderCounter(Base):
    """How many orders a partner has in each status (test and production apart), kept up to date
    in the transaction that changes an order, so the portal's tab counts are read, not counted."""

    __tablename__ = "order_counters"
    __table_args__ = (one_of("status", OrderStatus),)

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True)
    test: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    status: Mapped[OrderStatus] = mapped_column(EnumText(OrderStatus), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """A person who logs in to the portal: a supplier organisation's user, or an administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(unique=True)  # lower case
    name: Mapped[str]
    password_hash: Mapped[str]
    organisation_id: Mapped[str | None]  # None only for an administrator
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    api_token_hash: Mapped[str | None] = mapped_column(unique=True)  # sha256 of the API token
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class PortalSession(Base):
    """A logged-in browser: the cookie holds a random token, the row its digest (a stolen
    database yields no usable cookie), the CSRF token every form posts back, and its expiry."""

    __tablename__ = "portal_sessions"

    id: Mapped[str] = mapped_column(primary_key=True)  # sha256 of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class LoginAttempts(Base):
    """Failed logins per key (an e-mail, an address) in the current window, shared by every
    portal process: past the limit, logins for that key wait until ``locked_until``."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(primary_key=True)
    window_started_at: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]


class BulkJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class BulkItemStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    REFUSED = "refused"


class BulkJob(Base):
    """An action a person started on many orders at once (Cancel Orders): its progress lives here,
    not in a process, so any portal process can show it and any worker can finish it when the one
    that started it died (``owner`` holds it until ``lease_expires_at``)."""

    __tablename__ = "bulk_jobs"
    __table_args__ = (one_of("status", BulkJobStatus),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str]  # cancel_orders
    organisation_id: Mapped[str | None]  # whose orders (None: an administrator's job)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    who: Mapped[str]  # recorded as the actor on every order's history
    reason: Mapped[str]
    status: Mapped[BulkJobStatus] = mapped_column(EnumText(BulkJobStatus))
    total: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class BulkJobItem(Base):
    """One order of a bulk job, and what became of it (completed, or refused with the reason)."""

    __tablename__ = "bulk_job_items"
    __table_args__ = (one_of("status", BulkItemStatus),)

    job_id: Mapped[int] = mapped_column(ForeignKey("bulk_jobs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    po_number: Mapped[str]
    status: Mapped[BulkItemStatus] = mapped_column(EnumText(BulkItemStatus))
    message: Mapped[str | None]


class IdempotentRequest(Base):
    """A POST of the JSON API made with an ``Idempotency-Key``: the same key again gets the same
    answer, not a second action (a client that lost the answer may safely retry)."""

    __tablename__ = "idempotent_requests"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    request_hash: Mapped[str]  # method, path and body: the same key with another request is refused
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first request is in hand
    response: Mapped[bytes | None]
    created_at: Mapped[datetime]
