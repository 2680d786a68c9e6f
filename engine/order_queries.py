"""What the supplier portal's Orders page and order detail page show, read from the database.

Every function is scoped by ``visible``, the ids of the partners the person may see (their
organisation's, ``Runtime.partners_of``; every partner for an administrator): an order, a
document or a count of another partner is never part of an answer, whatever ids or cursors the
caller passes. Test orders (``orders.test``) are a space of their own, shown only when asked for
(``test=True``).

The Orders page:

* ``tab_counts``: how many orders are in each tab (each ``OrderStatus``, and ``"all"``), read from
  the counters kept in ``order_counters`` (``engine.db.order_counters``), never counted per request.
* ``order_page``: one page of a tab, searched by PO number and filtered by partner and order date,
  newest first (by arrival: the order's id) with keyset pagination. A cursor is an opaque string
  naming a position (the last or first order shown); a page reads at most ``limit + 1`` orders
  per visible partner however deep it is.

  PO search: an order whose PO number *is* the search comes first, then those whose PO number
  starts with it (case-sensitive, as partners send them), each group newest first. Someone who
  types a whole PO number sees that order on top; someone who types its start sees all that match.

The detail page: ``order_detail`` (header, parties, dates, lines, history, and every EDI document
received or sent for the order) and ``document_content`` (a document's bytes, to show raw or parse).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, NewType

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from engine.db.repository import InterchangeRepository, NotFound, OrderFilter, OrderRepository, OrderSummary
from engine.db.tables import (
    Interchange,
    OrderCounter,
    OrderRow,
    OutboundDocument,
    OutboundKind,
    OutboundStatus,
    Partner,
    SetStatus,
    TransactionSet,
)
from engine.model import (
    ActorKind,
    EventKind,
    LineEffect,
    Note,
    Order,
    OrderLine,
    OrderPurpose,
    OrderStatus,
    Party,
    Reference,
    Routing,
)

#: The tab that shows every status.
ALL = "all"
#: The Orders page's tabs, in the order the portal shows them.
TABS: tuple[str, ...] = (*(status.value for status in OrderStatus), ALL)

#: A position in a list of orders, as ``order_page`` hands it out: opaque to the caller.
Cursor = NewType("Cursor", str)


class BadCursor(ValueError):
    """A cursor this module did not make (or made for another version): the portal answers 400."""


# -- the Orders page -----------------------------------------------------------------------------------
def tab_counts(session: Session, visible: Collection[str], *, test: bool = False) -> dict[str, int]:
    """How many of the visible partners' orders are in each status, and in all (``TABS``), from the
    stored counters: a few rows per partner, however many orders there are."""
    counts = dict.fromkeys(TABS, 0)
    partners = sorted(set(visible))
    if partners:
        query = (
            select(OrderCounter.status, func.sum(OrderCounter.count))
            .where(OrderCounter.partner_id.in_(partners), OrderCounter.test == test)
            .group_by(OrderCounter.status)
        )
        for status, count in session.execute(query):
            counts[OrderStatus(status).value] = int(count)
    counts[ALL] = sum(counts[status.value] for status in OrderStatus)
    return counts


@dataclass(frozen=True)
class OrderListItem:
    """One row of the Orders page."""

    id: int
    po_number: str
    partner_id: str
    retailer: str  # the buying party the order names, else the partner's name
    order_date: date | None
    ship_by_date: date | None
    status: OrderStatus
    open_qty: Decimal
    ordered_qty: Decimal
    total: Decimal | None  # None when a line has no price


@dataclass(frozen=True)
class OrderPage:
    """A page of orders, and the cursors of the pages either side (None where there is none)."""

    items: tuple[OrderListItem, ...]
    next_cursor: Cursor | None
    previous_cursor: Cursor | None


@dataclass(frozen=True)
class _Position:
    """Where a page starts: after (or, going back, before) order ``id`` of search group ``group``."""

    group: int  # 0: the exact PO number, 1: longer PO numbers starting with it (0 without a search)
    id: int
    backwards: bool


def order_page(
    session: Session,
    visible: Collection[str],
    *,
    tab: str | None = None,
    po: str | None = None,
    partner_id: str | None = None,
    order_date_from: date | None = None,
    order_date_to: date | None = None,
    test: bool = False,
    after: Cursor | str | None = None,
    limit: int = 50,
    newest_first: bool = True,
) -> OrderPage:
    """One page of the visible partners' orders in ``tab`` (a status, or ``"all"``/None).

    ``po``: exactly this PO number first, then those starting with it (module docstring);
    ``partner_id``: one partner's (none when not visible); ``order_date_from``/``to``: inclusive,
    leaving out orders without an order date; ``after``: a cursor from an earlier page (its
    ``next_cursor``, or its ``previous_cursor`` to go back). Orders that arrive while someone pages
    are newer than any cursor, so pages already shown stay as they were and nothing is shown twice
    or skipped. Raises ``ValueError`` for an unknown tab, ``BadCursor`` for a cursor not made here.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    base = OrderFilter(
        partner_ids=frozenset(visible),
        partner_id=partner_id,
        statuses=_statuses(tab),
        test=test,
        order_date_from=order_date_from,
        order_date_to=order_date_to,
    )
    search = (po or "").strip()
    groups = [base] if not search else [
        replace(base, po_number=search),
        replace(base, po_prefix=search, longer_than_prefix=True),
    ]  # fmt: skip
    position = None if after is None else _decode(after, len(groups))
    repository = OrderRepository(session)
    if position is None or not position.backwards:
        found, more = _walk(repository, groups, position, limit, newest_first=newest_first)
        items = found[:limit]
        next_cursor = _cursor(items[-1], backwards=False) if more else None
        previous_cursor = _cursor(items[0], backwards=True) if position is not None and items else None
    else:
        found, more = _walk(repository, groups, position, limit, newest_first=not newest_first)
        items = found[:limit][::-1]
        next_cursor = _cursor(items[-1], backwards=False) if items else None
        previous_cursor = _cursor(items[0], backwards=True) if more else None
    summaries = [summary for _, summary in items]
    return OrderPage(tuple(_list_items(session, summaries)), next_cursor, previous_cursor)


def _statuses(tab: str | None) -> frozenset[OrderStatus]:
    if tab is None or tab == ALL:
        return frozenset()
    try:
        return frozenset({OrderStatus(tab)})
    except ValueError:
        raise ValueError(f"no tab {tab!r}: the tabs are {', '.join(TABS)}") from None


def _walk(
    repository: OrderRepository, groups: list[OrderFilter], start: _Position | None, limit: int, *, newest_first: bool
) -> tuple[list[tuple[int, OrderSummary]], bool]:
    """Up to ``limit`` orders from ``start`` on, through the search groups in the direction of travel
    (each group in id order), with their group; and whether there are more."""
    backwards = start is not None and start.backwards
    order = range(len(groups) - 1, -1, -1) if backwards else range(len(groups))
    found: list[tuple[int, OrderSummary]] = []
    for group in order:
        if start is not None and (group > start.group if backwards else group < start.group):
            continue
        after = start.id if start is not None and group == start.group else None
        page = repository.list(groups[group], after=after, limit=limit + 1 - len(found), newest_first=newest_first)
        found += [(group, summary) for summary in page.items]
        if len(found) > limit:
            break
    return found, len(found) > limit


def _list_items(session: Session, summaries: list[OrderSummary]) -> list[OrderListItem]:
    names = _partner_names(session, {summary.partner_id for summary in summaries})
    return [
        OrderListItem(
            id=s.id,
            po_number=s.po_number,
            partner_id=s.partner_id,
            retailer=s.retailer or names[s.partner_id],
            order_date=s.order_date,
            ship_by_date=s.ship_by_date,
            status=s.status,
            open_qty=s.open_qty,
            ordered_qty=s.ordered_qty,
            total=s.total,
        )
        for s in summaries
    ]


def _partner_names(session: Session, partner_ids: Collection[str]) -> dict[str, str]:
    if not partner_ids:
        return {}
    query = select(Partner.id, Partner.name).where(Partner.id.in_(sorted(partner_ids)))
    return {partner_id: name for partner_id, name in session.execute(query)}


# A cursor is "v1:" and the position, base64url: short, safe in a URL, and meaningless to edit,
# since the query applies the person's scope whatever position it starts from.
_CURSOR = re.compile(r"v1:([ab]):([01]):(\d{1,18})")


def _cursor(item: tuple[int, OrderSummary], *, backwards: bool) -> Cursor:
    """The cursor of the page after (or before) this order of this search group."""
    group, summary = item
    return _encode(_Position(group, summary.id, backwards))


def _encode(position: _Position) -> Cursor:
    text = f"v1:{'b' if position.backwards else 'a'}:{position.group}:{position.id}"
    return Cursor(base64.urlsafe_b64encode(text.encode()).decode().rstrip("="))


def _decode(cursor: str, groups: int) -> _Position:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor(f"{cursor!r} is not a cursor of this list") from None
    match = _CURSOR.fullmatch(text)
    if match is None or int(match.group(2)) >= groups:
        raise BadCursor(f"{cursor!r} is not a cursor of this list")
    return _Position(int(match.group(2)), int(match.group(3)), backwards=match.group(1) == "b")


# -- the order detail page -----------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryEvent:
    """Something that changed the order: what, when, who, why, and the document that carried it."""

    kind: EventKind
    at: datetime
    actor_kind: ActorKind  # a supplier user, a retailer's or partner's document, the engine
    actor_id: str | None  # the user's name, or the document's id
    reason: str | None
    text: str | None
    lines: tuple[LineEffect, ...]
    document_id: str | None  # as the event names it (an inbound set, a shipment id, ...)
    received_id: int | None  # the id of ``document_id`` in ``OrderDetail.received``, when it is one


@dataclass(frozen=True)
class ReceivedDocument:
    """An inbound transaction set that changed the order (its 850, 860s, a supplier's 855/856)."""

    id: int  # for ``document_content(..., "in", id)``
    set_id: str | None  # ST01: 850, 860, ...
    status: SetStatus
    interchange_id: int
    position: int  # the set's place in its interchange (1 for the first), to find it in the file
    interchange_control_number: str | None  # ISA13
    group_control_number: str | None  # GS06
    set_control_number: str | None  # ST02
    file_name: str | None  # as the mailbox named it
    received_at: datetime
    test: bool  # ISA15 T, or a partner in test mode
    acknowledgement_id: int | None  # our 997/999/TA1 answering its interchange (in ``OrderDetail.sent``)


@dataclass(frozen=True)
class SentDocument:
    """A document we sent (or will send) for the order, with the partner's acknowledgement of it."""

    id: int  # for ``document_content(..., "out", id)``
    kind: OutboundKind  # 855, 856, 865, 850; 997/999/TA1 for the files that carried the order
    status: OutboundStatus  # pending, sent, accepted, rejected (by the partner's 997), overdue
    interchange_control_number: int | None
    group_control_number: int | None
    set_control_number: int | None
    file_name: str | None
    created_at: datetime
    sent_at: datetime | None
    due_at: datetime | None  # when the partner's 997 is expected by
    acknowledged_at: datetime | None
    ack_result: dict[str, Any] | None  # what the partner's 997/999 said (kind, code, description)
    carrier_id: int | None  # the document whose interchange carried this one, when it went with others


@dataclass(frozen=True)
class OrderDetail:
    """Everything the order detail page shows about one order."""

    id: int
    po_number: str
    partner_id: str
    partner_name: str
    retailer: str  # the buying party the order names, else the partner's name
    test: bool
    status: OrderStatus
    acknowledged: bool
    purpose: OrderPurpose
    order_type: str | None
    currency: str | None
    total: Decimal | None
    ordered_qty: Decimal
    open_qty: Decimal
    order_date: date | None
    requested_ship_date: date | None
    ship_by_date: date | None
    delivery_date: date | None
    received_at: datetime  # when the engine stored it
    updated_at: datetime
    version: int  # what an action on the order is saved against
    parties: tuple[Party, ...]
    routing: Routing | None
    references: tuple[Reference, ...]
    notes: tuple[Note, ...]
    #: Each line's running quantities are the model's: ``open_qty``, ``cancelled_qty``,
    #: ``backordered_qty`` and ``backorder_ship_date``, ``shipped_qty``, ``pending_cancel_qty``, ``status``.
    lines: tuple[OrderLine, ...]
    waiting_lines: tuple[OrderLine, ...]  # items the retailer asked to add, not yet answered
    history: tuple[HistoryEvent, ...]  # oldest first
    received: tuple[ReceivedDocument, ...]  # oldest first
    sent: tuple[SentDocument, ...]  # oldest first


#: The document id ``engine.ingest.apply_sets`` gives an inbound set: its interchange and position.
_INBOUND_SET = re.compile(r"interchange:(\d+):set:(\d+)")


def order_detail(session: Session, visible: Collection[str], order_id: int) -> OrderDetail | None:
    """The order with this id, or None when there is none or its partner is not visible (the
    portal answers 404 for both, so an id tells nothing about another organisation's orders)."""
    row = session.get(OrderRow, order_id)
    if row is None or row.partner_id not in set(visible):
        return None
    order = Order.model_validate(row.document)
    partner_name = _partner_names(session, [row.partner_id])[row.partner_id]
    received = _received(session, row.partner_id, order)
    acknowledgements = {r.acknowledgement_id for r in received if r.acknowledgement_id is not None}
    sent = _sent(session, row.id, acknowledgements)
    by_document = {f"interchange:{r.interchange_id}:set:{r.position}": r.id for r in received}
    return OrderDetail(
        id=row.id,
        po_number=order.po_number,
        partner_id=row.partner_id,
        partner_name=partner_name,
        retailer=row.retailer or partner_name,
        test=row.test,
        status=order.status,
        acknowledged=order.acknowledged,
        purpose=order.purpose,
        order_type=order.order_type,
        currency=order.currency,
        total=order.total,
        ordered_qty=row.ordered_qty,
        open_qty=row.open_qty,
        order_date=order.order_date,
        requested_ship_date=order.requested_ship_date,
        ship_by_date=order.ship_by_date,
        delivery_date=order.delivery_date,
        received_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        parties=tuple(order.parties),
        routing=order.routing,
        references=tuple(order.references),
        notes=tuple(order.notes),
        lines=tuple(order.lines),
        waiting_lines=tuple(order.pending_lines),
        history=tuple(
            HistoryEvent(
                kind=event.kind,
                at=event.at,
                actor_kind=event.actor.kind,
                actor_id=event.actor.id,
                reason=event.reason,
                text=event.text,
                lines=tuple(event.lines),
                document_id=event.document_id,
                received_id=by_document.get(event.document_id or ""),
            )
            for event in order.events
        ),
        received=received,
        sent=sent,
    )


def _received(session: Session, partner_id: str, order: Order) -> tuple[ReceivedDocument, ...]:
    """The inbound sets the order's events name: every set that changed an order leaves an event
    with its id (``interchange:<id>:set:<position>``), found by the sets' unique key."""
    keys = {
        (int(match.group(1)), int(match.group(2)))
        for event in order.events
        if event.document_id and (match := _INBOUND_SET.fullmatch(event.document_id))
    }
    if not keys:
        return ()
    query = (
        select(TransactionSet, Interchange)
        .join(Interchange, Interchange.id == TransactionSet.interchange_id)
        .where(tuple_(TransactionSet.interchange_id, TransactionSet.position).in_(sorted(keys)))
        .where(Interchange.partner_id == partner_id)
        .order_by(TransactionSet.interchange_id, TransactionSet.position)
    )
    rows = session.execute(query).all()
    # Our 997/999/TA1 for an interchange is recorded under this cause (engine.ingest.acknowledge_file).
    causes = [f"ack:interchange:{interchange_id}" for interchange_id in sorted({i for i, _ in keys})]
    acks_query = select(OutboundDocument.cause_key, OutboundDocument.id).where(OutboundDocument.cause_key.in_(causes))
    acks = {cause: document_id for cause, document_id in session.execute(acks_query)}
    return tuple(
        ReceivedDocument(
            id=ts.id,
            set_id=ts.set_id,
            status=ts.status,
            interchange_id=ich.id,
            position=ts.position,
            interchange_control_number=ich.control_number,
            group_control_number=ts.group_control_number,
            set_control_number=ts.set_control_number,
            file_name=ich.file_name,
            received_at=ich.received_at,
            test=ich.test,
            acknowledgement_id=acks.get(f"ack:interchange:{ich.id}"),
        )
        for ts, ich in rows
    )


def _sent(session: Session, order_id: int, acknowledgements: Collection[int]) -> tuple[SentDocument, ...]:
    """What we sent for the order (by ``outbound_documents.order_id``), and our acknowledgements
    of the files that carried its inbound documents."""
    wanted = OutboundDocument.order_id == order_id
    if acknowledgements:
        wanted = or_(wanted, OutboundDocument.id.in_(sorted(acknowledgements)))
    query = select(OutboundDocument).where(wanted)
    return tuple(
        SentDocument(
            id=d.id,
            kind=d.kind,
            status=d.status,
            interchange_control_number=d.interchange_control_number,
            group_control_number=d.group_control_number,
            set_control_number=d.set_control_number,
            file_name=d.file_name,
            created_at=d.created_at,
            sent_at=d.sent_at,
            due_at=d.due_at,
            acknowledged_at=d.acknowledged_at,
            ack_result=d.ack_result,
            carrier_id=d.bundle_id,
        )
        for d in session.scalars(query.order_by(OutboundDocument.id))
    )


def document_content(
    session: Session, visible: Collection[str], kind: Literal["in", "out"], document_id: int
) -> bytes | None:
    """The bytes of a document the detail page lists, or None when there is none or its partner is
    not visible: "in", a received set (``ReceivedDocument.id``): the interchange that carried it,
    as archived (its set is at ``position``); "out", a sent document (``SentDocument.id``): the
    interchange we wrote (its carrier's, when it went out with others)."""
    partners = set(visible)
    if kind == "in":
        ts = session.get(TransactionSet, document_id)
        if ts is None:
            return None
        interchange = session.get(Interchange, ts.interchange_id)
        if interchange is None or interchange.partner_id not in partners:
            return None
        try:
            return InterchangeRepository(session).content(interchange.id)
        except NotFound:
            return None
    if kind == "out":
        document = session.get(OutboundDocument, document_id)
        if document is None or document.partner_id not in partners:
            return None
        if document.bundle_id is None:
            return document.content
        carrier = session.get(OutboundDocument, document.bundle_id)
        return None if carrier is None else carrier.content
    raise ValueError(f"a document is 'in' or 'out', not {kind!r}")
