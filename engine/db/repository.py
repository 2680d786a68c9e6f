"""Repositories: the engine's business records, stored and found again, inside one session's transaction.

Nothing here commits: ``engine.db.session.unit_of_work`` does, or rolls everything back. An error
that a constraint raised (a second document for one cause, an order saved over a newer version,
an interchange applied twice) leaves the transaction unusable on PostgreSQL; it is raised as one
of the exceptions below so that the unit of work rolls back, and the caller starts a new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Table, func, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from edi.findings import Finding
from engine.db.bulk import insert_many
from engine.db.order_counters import count_change, count_new
from engine.db.tables import (
    Direction,
    Interchange,
    InterchangeStatus,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    OutboundDocument,
    OutboundKind,
    OutboundStatus,
    Partner,
    QuarantineEntry,
    SetStatus,
    TransactionSet,
)
from engine.db.types import JsonText
from engine.model import Order, OrderEvent, OrderLine, OrderStatus, PartyRole, utc_now
from engine.model.order import ZERO, order_status
from mappings.profile import Role as PartnerRole


# -- errors ------------------------------------------------------------------------------------------
class RepositoryError(Exception):
    """A business rule of the store was broken; the transaction must be rolled back."""


class NotFound(RepositoryError, LookupError):
    pass


class OrderExists(RepositoryError):
    """A new order was saved, but the partner already has one with that PO number (in that space)."""


class StaleOrder(RepositoryError):
    """The order changed since it was read: read it again, apply the change again, save again."""


class CauseAlreadyHandled(RepositoryError):
    """A document for this cause exists: the same cause never produces two documents."""

    def __init__(self, cause_key: str, existing_id: int | None) -> None:
        super().__init__(f"an outbound document for {cause_key!r} already exists (id {existing_id})")
        self.cause_key = cause_key
        self.existing_id = existing_id


class InterchangeAlreadyCommitted(RepositoryError):
    """The same bytes from the same sender were committed already (perhaps a moment ago, by another worker)."""

    def __init__(self, interchange_id: int, original_id: int | None) -> None:
        original = f"interchange {original_id}" if original_id is not None else "another worker"
        super().__init__(f"interchange {interchange_id} repeats one committed by {original}")
        self.interchange_id = interchange_id
        self.original_id = original_id


R = TypeVar("R")


def _one(session: Session, kind: type[R], key: Any) -> R:
    row = session.get(kind, key)
    if row is None:
        raise NotFound(f"no {kind.__name__} {key!r}")
    return row


def _table(mapped: type[Any]) -> Table:
    """The Core table of a mapped class, for statements that write many rows at once."""
    return cast(Table, mapped.__table__)


def _text(value: str | None, what: str) -> str | None:
    """Guard searchable columns: PostgreSQL text cannot hold NUL, so neither backend takes it."""
    if value is not None and "\x00" in value:
        raise ValueError(f"{what} {value!r} contains a NUL character, which a text column cannot hold")
    return value


def findings_json(findings: Iterable[Finding | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [f.to_dict() if isinstance(f, Finding) else dict(f) for f in findings]


# -- partners ----------------------------------------------------------------------------------------
class PartnerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def save(
        self,
        partner_id: str,
        *,
        name: str,
        role: PartnerRole = PartnerRole.RETAILER,
        profile_hash: str | None = None,
        test_mode: bool = False,
        organisation_id: str | None = None,
        at: datetime | None = None,
    ) -> Partner:
        """Create the partner or bring it up to date with its profile."""
        now = at or utc_now()
        partner = self.session.get(Partner, partner_id)
        if partner is None:
            partner = Partner(id=_text(partner_id, "partner id"), created_at=now)
            self.session.add(partner)
        partner.name = name
        partner.role = role
        partner.profile_hash = profile_hash
        partner.test_mode = test_mode
        partner.organisation_id = organisation_id
        partner.updated_at = now
        self.session.flush()
        return partner

    def get(self, partner_id: str) -> Partner | None:
        return self.session.get(Partner, partner_id)

    def all(self) -> list[Partner]:
        return list(self.session.scalars(select(Partner).order_by(Partner.id)))


# -- orders ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredOrder:
    """An order as stored: the canonical value, its row id, and the version to save it against."""

    id: int
    version: int
    order: Order


@dataclass(frozen=True)
class OrderSummary:
    """One row of an order list: the searchable columns, without the whole document."""

    id: int
    partner_id: str
    po_number: str
    test: bool
    status: OrderStatus
    order_date: date | None
    ship_by_date: date | None
    retailer: str | None
    total: Decimal | None
    ordered_qty: Decimal
    open_qty: Decimal
    acknowledged: bool
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class OrderFilter:
    partner_id: str | None = None
    statuses: frozenset[OrderStatus] = frozenset()  # empty: any status
    po_prefix: str | None = None  # case-sensitive, as partners send PO numbers
    test: bool | None = False  # production orders by default; None for both spaces
    #: Only these partners' orders (those a portal user may see); None: every partner's.
    partner_ids: frozenset[str] | None = None
    po_number: str | None = None  # exactly this PO number (case-sensitive)
    longer_than_prefix: bool = False  # with ``po_prefix``: leave out the PO number equal to the prefix
    order_date_from: date | None = None  # inclusive; an order without an order date is then left out
    order_date_to: date | None = None  # inclusive


@dataclass(frozen=True)
class OrderPage:
    items: tuple[OrderSummary, ...]
    next_after: int | None  # pass as ``after`` for the next page; None on the last page


_SUMMARY_COLUMNS = (
    OrderRow.id,
    OrderRow.partner_id,
    OrderRow.po_number,
    OrderRow.test,
    OrderRow.status,
    OrderRow.order_date,
    OrderRow.ship_by_date,
    OrderRow.retailer,
    OrderRow.total,
    OrderRow.ordered_qty,
    OrderRow.open_qty,
    OrderRow.acknowledged,
    OrderRow.version,
    OrderRow.updated_at,
)


class OrderRepository:
    """Canonical orders. The JSON document is the record; columns, lines and events follow it on every save."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, order: Order, expected_version: int | None = None) -> StoredOrder:
        """Store ``order``: a new one when ``expected_version`` is None, else an update of that version.

        Raises ``OrderExists`` for a new order whose (partner, PO number, test) is taken,
        ``StaleOrder`` when the stored order is no longer at ``expected_version``.
        """
        if self.session.get(Partner, order.partner_id) is None:
            raise NotFound(f"order {order.po_number!r} names partner {order.partner_id!r}, which is not stored")
        row = self._row(order.partner_id, order.po_number, order.test)
        now = utc_now()
        if expected_version is None:
            if row is not None:
                raise OrderExists(_describe(order) + f" already exists (id {row.id})")
            row = OrderRow(created_at=now)
        elif row is None:
            raise NotFound(_describe(order) + " is not stored")
        elif row.version != expected_version:
            raise StaleOrder(_describe(order) + f" is at version {row.version}, not {expected_version}: read it again")
        document = _document(order)
        before = None if row.id is None else row.status
        if row.id is None or row.document != document:
            with self.session.no_autoflush:  # one UPDATE, so one version step, per save
                _project(row, order, document)
                row.updated_at = now
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError as error:  # another transaction stored the same PO first
            raise OrderExists(_describe(order) + " was stored by another transaction") from error
        except StaleDataError as error:  # another transaction saved a newer version first
            raise StaleOrder(_describe(order) + " was changed by another transaction: read it again") from error
        # The version check above makes ``before`` the status this update replaced.
        count_change(self.session, row.partner_id, row.test, before, row.status)
        return StoredOrder(row.id, row.version, order)

    def add_new(self, orders: Sequence[Order], *, at: datetime | None = None) -> list[StoredOrder]:
        """Store many new orders at once, in the order given (a file's purchase orders).

        The same rows ``save`` writes, with one statement per table rather than several per
        order. Raises ``OrderExists`` when any (partner, PO number, test) is taken, and nothing
        of the batch may then be committed (the caller's transaction rolls back).
        """
        if not orders:
            return []
        partners = {order.partner_id for order in orders}
        known = set(self.session.scalars(select(Partner.id).where(Partner.id.in_(partners))))
        for order in orders:
            if order.partner_id not in known:
                raise NotFound(f"order {order.po_number!r} names partner {order.partner_id!r}, which is not stored")
        now = at or utc_now()
        line_columns = [[_line_columns(line) for line in order.lines] for order in orders]
        rows = [{**_order_columns(order, _document_json(order), lines), "version": 1, "created_at": now, "updated_at": now}
                for order, lines in zip(orders, line_columns, strict=True)]  # fmt: skip
        try:
            insert_many(self.session, _table(OrderRow), rows)
        except IntegrityError as error:  # a PO number taken, perhaps by another transaction
            raise OrderExists(
                f"one of {len(orders)} new orders (first {_describe(orders[0])}) already exists"
            ) from error
        count_new(self.session, ((row["partner_id"], row["test"], row["status"]) for row in rows))
        # Read the ids back by the order key (unique): one query, where RETURNING in parameter
        # order would make SQLite insert row by row.
        ids = self._ids([(order.partner_id, order.po_number, order.test) for order in orders])
        lines = [{"order_id": order_id, "position": position, **columns}
                 for order_id, columns_of_order in zip(ids, line_columns, strict=True)
                 for position, columns in enumerate(columns_of_order, start=1)]  # fmt: skip
        events = [{"order_id": order_id, "position": position, **_event_columns(event, JsonText(event.model_dump_json()))}
                  for order_id, order in zip(ids, orders, strict=True)
                  for position, event in enumerate(order.events, start=1)]  # fmt: skip
        insert_many(self.session, _table(OrderLineRow), lines)
        insert_many(self.session, _table(OrderEventRow), events)
        return [StoredOrder(order_id, 1, order) for order_id, order in zip(ids, orders, strict=True)]

    def _ids(self, keys: Sequence[tuple[str, str, bool]]) -> list[int]:
        """The ids of the orders with these (partner, PO number, test) keys, in the order given."""
        found = {
            (partner_id, po, test): order_id
            for (partner_id, test), numbers in _grouped(keys).items()
            for order_id, po in self._by_po_numbers(partner_id, test, numbers, OrderRow.id, OrderRow.po_number)
        }
        return [found[key] for key in keys]

    def get(self, order_id: int) -> StoredOrder:
        return _stored(_one(self.session, OrderRow, order_id))

    def find(self, partner_id: str, po_number: str, *, test: bool = False) -> StoredOrder | None:
        row = self._row(partner_id, po_number, test)
        return None if row is None else _stored(row)

    def find_many(self, partner_id: str, po_numbers: Iterable[str], *, test: bool = False) -> dict[str, StoredOrder]:
        """The stored orders among ``po_numbers``, by PO number: one query for a file's worth."""
        rows = self._by_po_numbers(partner_id, test, po_numbers, OrderRow)
        return {row.po_number: _stored(row) for (row,) in rows}

    def _by_po_numbers(self, partner_id: str, test: bool, po_numbers: Iterable[str], *columns: Any) -> list[Any]:
        """``columns`` of the partner's orders with these PO numbers, ``_IN_CHUNK`` numbers a query."""
        wanted = sorted({_text(po, "PO number") or "" for po in po_numbers})
        found: list[Any] = []
        for start in range(0, len(wanted), _IN_CHUNK):
            query = select(*columns).where(
                OrderRow.partner_id == partner_id,
                OrderRow.test == test,
                OrderRow.po_number.in_(wanted[start : start + _IN_CHUNK]),
            )
            found += self.session.execute(query).all()
        return found

    def list(
        self, where: OrderFilter | None = None, *, after: int | None = None, limit: int = 50, newest_first: bool = True
    ) -> OrderPage:
        """Orders newest first (oldest first when not ``newest_first``), ``limit`` at a time,
        continuing ``after`` the last id seen.

        Keyset pagination on the id: a page starts where the previous one ended, whatever was
        added or changed meanwhile, so nothing is shown twice or skipped. Ids are handed out in
        the order orders arrive, so "newest" means received last.

        With ``partner_ids`` or ``partner_id``, each partner's orders (in each test space asked
        for) are read on their own, in id order from an index that starts with (partner_id,
        test), and merged: a page reads at most ``limit + 1`` rows per partner however deep it
        is, where one ``partner_id IN (...)`` would sort every matching order.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        where = where or OrderFilter()
        direction = OrderRow.id.desc() if newest_first else OrderRow.id.asc()
        conditions = _conditions(where, self.session.get_bind().dialect.name)
        if after is not None:
            conditions.append(OrderRow.id < after if newest_first else OrderRow.id > after)
        partners = _partners_of(where)
        query = select(*_SUMMARY_COLUMNS)
        if partners is None:
            space = [] if where.test is None else [OrderRow.test == where.test]
            query = query.where(*conditions, *space)
        else:
            spaces = [
                (OrderRow.partner_id == partner_id, OrderRow.test == test)
                for partner_id in sorted(partners)
                for test in ((False, True) if where.test is None else (where.test,))
            ]
            if not spaces:
                return OrderPage((), None)
            if where.po_number is not None:  # one order per partner and space at most: nothing to merge
                tests = [OrderRow.test == where.test] if where.test is not None else []
                query = query.where(OrderRow.partner_id.in_(sorted(partners)), *tests, *conditions)
            elif len(spaces) == 1:
                query = query.where(*spaces[0], *conditions)
            else:
                tops = [
                    select(OrderRow.id).where(*space, *conditions).order_by(direction).limit(limit + 1).subquery()
                    for space in spaces
                ]
                merged = union_all(*(select(top.c.id) for top in tops)).subquery()
                first = select(merged.c.id).order_by(merged.c.id.desc() if newest_first else merged.c.id.asc())
                page = first.limit(limit + 1).subquery()
                query = query.join(page, page.c.id == OrderRow.id)
        rows = self.session.execute(query.order_by(direction).limit(limit + 1)).all()
        items = tuple(OrderSummary(**row._asdict()) for row in rows[:limit])
        return OrderPage(items, items[-1].id if len(rows) > limit else None)

    def _row(self, partner_id: str, po_number: str, test: bool) -> OrderRow | None:
        _text(partner_id, "partner id")
        _text(po_number, "PO number")
        return self.session.scalars(
            select(OrderRow).where(
                OrderRow.partner_id == partner_id, OrderRow.po_number == po_number, OrderRow.test == test
            )
        ).one_or_none()


def _conditions(where: OrderFilter, dialect: str) -> list[ColumnElement[bool]]:
    """What the filter asks of an order, besides its partner and test space."""
    conditions: list[ColumnElement[bool]] = []
    if len(where.statuses) == 1:  # an equality, which an index on (..., status, id) serves in id order
        conditions.append(OrderRow.status == next(iter(where.statuses)))
    elif where.statuses:
        conditions.append(OrderRow.status.in_(sorted(where.statuses)))
    if where.po_number is not None:
        conditions.append(OrderRow.po_number == where.po_number)
    if where.po_prefix:
        conditions += _starts_with(OrderRow.po_number, where.po_prefix, dialect)
        if where.longer_than_prefix:
            conditions.append(OrderRow.po_number != where.po_prefix)
    if where.order_date_from is not None:
        conditions.append(OrderRow.order_date >= where.order_date_from)
    if where.order_date_to is not None:
        conditions.append(OrderRow.order_date <= where.order_date_to)
    return conditions


def _partners_of(where: OrderFilter) -> frozenset[str] | None:
    """The partners whose orders the filter lists, or None for every partner."""
    if where.partner_ids is None:
        return None if where.partner_id is None else frozenset({where.partner_id})
    return where.partner_ids & {where.partner_id} if where.partner_id is not None else where.partner_ids


def _starts_with(column: Any, prefix: str, dialect: str) -> list[ColumnElement[bool]]:
    """``column`` starts with ``prefix``, case-sensitively, in terms an index on the column can serve.

    Both take a range in code point order that bounds the scan, and an exact test. SQLite's
    BINARY collation is code point order, and its LIKE ignores case, so ``substr`` says exactly.
    On PostgreSQL ``<`` and ``>=`` follow the database's collation, in which a prefix's matches
    need not be contiguous (en_US sorts ``PO-1`` after ``PO.``), so the range is taken with the
    byte-wise operators of ``text_pattern_ops`` (``~>=~``, ``~<~``), which an index with that
    operator class serves whatever the collation, and with a parameter (a LIKE prefix is turned
    into a range only when the planner sees the value, not in a prepared statement's generic
    plan); the case-sensitive LIKE says exactly.
    """
    following = _next_code_point(prefix[-1])
    upper = None if following is None else prefix[:-1] + following
    if dialect == "postgresql":
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions = [column.op("~>=~", is_comparison=True)(prefix), column.like(escaped + "%", escape="\\")]
        if upper is not None:
            conditions.append(column.op("~<~", is_comparison=True)(upper))
        return conditions
    conditions = [column >= prefix, func.substr(column, 1, len(prefix)) == prefix]
    if upper is not None:
        conditions.append(column < upper)
    return conditions


def _next_code_point(character: str) -> str | None:
    """The character after ``character`` in code point order that UTF-8 can hold, if any."""
    point = ord(character) + 1
    if 0xD800 <= point <= 0xDFFF:  # surrogates are not characters
        point = 0xE000
    return chr(point) if point <= 0x10FFFF else None


def _describe(order: Order) -> str:
    space = " (test)" if order.test else ""
    return f"order {order.po_number!r} of partner {order.partner_id!r}{space}"


def _document(order: Order) -> dict[str, Any]:
    """The stored JSON record of an order, without its derived values (statuses, open
    quantities, total): those are recomputed when it is read, and the columns hold them for queries."""
    return order.model_dump(mode="json", exclude_computed_fields=True)


def _document_json(order: Order) -> JsonText:
    """``_document`` written out by pydantic: the same record, for storing many orders at once."""
    return JsonText(order.model_dump_json(exclude_computed_fields=True))


def _stored(row: OrderRow) -> StoredOrder:
    return StoredOrder(row.id, row.version, Order.model_validate(row.document))


def _grouped(keys: Sequence[tuple[str, str, bool]]) -> dict[tuple[str, bool], list[str]]:
    """PO numbers by (partner, test)."""
    grouped: dict[tuple[str, bool], list[str]] = {}
    for partner_id, po_number, test in keys:
        grouped.setdefault((partner_id, test), []).append(po_number)
    return grouped


#: How many values one ``IN (...)`` carries (SQLite allows 32,766 bound parameters, PostgreSQL 65,535).
_IN_CHUNK = 500


def _order_columns(
    order: Order, document: dict[str, Any] | JsonText, lines: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The order's searchable columns, copied from the canonical order; ``lines`` are its lines'
    columns (``_line_columns``), whose statuses and open quantities the order's are made of."""
    buyer = order.party(PartyRole.BUYING_PARTY)
    return {
        "partner_id": order.partner_id,
        "po_number": _text(order.po_number, "PO number") or "",
        "test": order.test,
        "status": order_status([line["status"] for line in lines], acknowledged=order.acknowledged),
        "order_date": order.order_date,
        "ship_by_date": order.ship_by_date,
        "retailer": _text(buyer.name if buyer else None, "buying party name"),
        "total": order.total,
        "ordered_qty": sum((line["ordered_qty"] for line in lines), ZERO),
        "open_qty": sum((line["open_qty"] for line in lines), ZERO),
        "acknowledged": order.acknowledged,
        "document": document,
    }


def _project(row: OrderRow, order: Order, document: dict[str, Any]) -> None:
    """Bring the row, its lines and its events in step with the canonical order."""
    lines = [_line_columns(line) for line in order.lines]
    for name, value in _order_columns(order, document, lines).items():
        setattr(row, name, value)
    _sync(row.lines, lines, OrderLineRow)
    _sync(row.events, [_event_columns(event) for event in order.events], OrderEventRow)


def _line_columns(line: OrderLine) -> dict[str, Any]:
    return {
        "line_number": _text(line.line_number, "line number"),
        "ordered_qty": line.ordered_qty,
        "cancelled_qty": line.cancelled_qty,
        "backordered_qty": line.backordered_qty,
        "shipped_qty": line.shipped_qty,
        "pending_cancel_qty": line.pending_cancel_qty,
        "open_qty": line.open_qty,
        "status": line.status,
    }


def _event_columns(event: OrderEvent, detail: dict[str, Any] | JsonText | None = None) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "at": event.at,
        "actor_kind": event.actor.kind,
        "actor_id": _text(event.actor.id, "actor id"),
        "reason": _text(event.reason, "event reason"),
        "document_id": _text(event.document_id, "document id"),
        "detail": event.model_dump(mode="json") if detail is None else detail,
    }


def _sync(rows: list[Any], wanted: Sequence[dict[str, Any]], make: type[Any]) -> None:
    """Rows kept by position: updated in place (so (order, position) stays unique), added, or removed."""
    for position, columns in enumerate(wanted, start=1):
        if position <= len(rows):
            for name, value in columns.items():
                setattr(rows[position - 1], name, value)
        else:
            rows.append(make(position=position, **columns))
    del rows[len(wanted) :]


# -- interchanges, sets, quarantine ---------------------------------------------------------------------
@dataclass(frozen=True)
class SetRecord:
    """One transaction set of an interchange, as ``record_new_sets`` stores it."""

    position: int
    status: SetStatus
    set_id: str | None
    group_control_number: str | None
    set_control_number: str | None
    findings: Sequence[Finding | Mapping[str, Any]] = ()
    order_id: int | None = None


@dataclass(frozen=True)
class Reception:
    """What receiving an interchange found."""

    interchange_id: int
    status: InterchangeStatus  # RECEIVED: process it; DUPLICATE: do not apply it again
    duplicate_of_id: int | None = None
    again: bool = False  # the same bytes were received before and never committed: that record is reused


class InterchangeRepository:
    """Interchanges as they arrived, their transaction sets, and what was quarantined.

    The life of an inbound interchange, made so that a rerun after a crash at any point is harmless:

    1. ``receive`` archives the bytes (commit that on its own, before the file leaves the mailbox).
       The same bytes from the same sender as a *committed* interchange are recorded as a
       duplicate and not applied; the same bytes as an interchange that was received but never
       committed reuse that record and are processed normally.
    2. Processing records the sets, the orders and the outbound documents, and ``commit`` marks
       the interchange committed, all in one transaction. If another worker committed the same
       bytes first, the unique index refuses the second commit (``InterchangeAlreadyCommitted``):
       roll back, then ``mark_duplicate`` in a new transaction.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def receive(
        self,
        content: bytes,
        *,
        sender: str | None,
        receiver: str | None,
        control_number: str | None,
        partner_id: str | None = None,
        test: bool = False,
        file_name: str | None = None,
        direction: Direction = Direction.INBOUND,
        at: datetime | None = None,
    ) -> Reception:
        digest = hashlib.sha256(content).hexdigest()
        _text(sender, "sender")
        if sender is not None:
            original = self.find_committed(sender, digest)
            if original is not None:
                duplicate = self._add(
                    None, digest, len(content), sender, receiver, control_number, partner_id, test, file_name,
                    direction, InterchangeStatus.DUPLICATE, at, duplicate_of_id=original.id,
                )  # fmt: skip
                return Reception(duplicate.id, InterchangeStatus.DUPLICATE, original.id)
            earlier = self.session.scalars(
                select(Interchange)
                .where(
                    Interchange.sender == sender,
                    Interchange.sha256 == digest,
                    Interchange.status == InterchangeStatus.RECEIVED,
                )
                .order_by(Interchange.id)
                .limit(1)
            ).first()
            if earlier is not None:
                return Reception(earlier.id, InterchangeStatus.RECEIVED, again=True)
        row = self._add(
            content, digest, len(content), sender, receiver, control_number, partner_id, test, file_name,
            direction, InterchangeStatus.RECEIVED, at,
        )  # fmt: skip
        return Reception(row.id, InterchangeStatus.RECEIVED)

    def _add(
        self,
        content: bytes | None,
        digest: str,
        size: int,
        sender: str | None,
        receiver: str | None,
        control_number: str | None,
        partner_id: str | None,
        test: bool,
        file_name: str | None,
        direction: Direction,
        status: InterchangeStatus,
        at: datetime | None,
        duplicate_of_id: int | None = None,
    ) -> Interchange:
        row = Interchange(
            partner_id=partner_id,
            direction=direction,
            sender=_text(sender, "sender"),
            receiver=_text(receiver, "receiver"),
            control_number=_text(control_number, "ISA13"),
            test=test,
            sha256=digest,
            size=size,
            content=content,
            file_name=_text(file_name, "file name"),
            status=status,
            duplicate_of_id=duplicate_of_id,
            received_at=at or utc_now(),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, interchange_id: int) -> Interchange:
        return _one(self.session, Interchange, interchange_id)

    def content(self, interchange_id: int) -> bytes:
        """The archived bytes (a duplicate's are its original's)."""
        row = self.get(interchange_id)
        if row.content is None and row.duplicate_of_id is not None:
            return self.content(row.duplicate_of_id)
        if row.content is None:
            raise NotFound(f"interchange {interchange_id} has no archived content")
        return row.content

    def find_committed(self, sender: str, sha256: str) -> Interchange | None:
        return self.session.scalars(
            select(Interchange).where(
                Interchange.sender == sender,
                Interchange.sha256 == sha256,
                Interchange.status == InterchangeStatus.COMMITTED,
            )
        ).one_or_none()

    def committed_with_control_number(
        self, sender: str, control_number: str, *, since: datetime | None = None
    ) -> list[Interchange]:
        """Committed interchanges from ``sender`` with this ISA13 (a reuse is flagged by the profile's policy).

        Not a unique key: X12 only asks senders not to reuse an ISA13 "for a reasonable period",
        and some do; the partner's duplicate policy decides what a reuse means.
        """
        query = select(Interchange).where(
            Interchange.sender == sender,
            Interchange.control_number == control_number,
            Interchange.status == InterchangeStatus.COMMITTED,
        )
        if since is not None:
            query = query.where(Interchange.received_at >= since)
        return list(self.session.scalars(query.order_by(Interchange.id)))

    def uncommitted(self) -> list[Interchange]:
        """Interchanges archived but never committed (a crash, an error): process them again."""
        query = select(Interchange).where(Interchange.status == InterchangeStatus.RECEIVED)
        return list(self.session.scalars(query.order_by(Interchange.id)))

    def commit(self, interchange_id: int, *, at: datetime | None = None) -> Interchange:
        """Mark the interchange applied, in the transaction that applied it. Committing twice is harmless."""
        row = self.get(interchange_id)
        if row.status is InterchangeStatus.COMMITTED:
            return row
        if row.status is not InterchangeStatus.RECEIVED:
            raise RepositoryError(f"interchange {interchange_id} is {row.status.value}; only a received one commits")
        if row.sender is not None:
            original = self.find_committed(row.sender, row.sha256)
            if original is not None:
                raise InterchangeAlreadyCommitted(interchange_id, original.id)
        self.session.flush()  # so that an error below is about this row alone
        row.status = InterchangeStatus.COMMITTED
        row.committed_at = at or utc_now()
        try:
            self.session.flush()
        except IntegrityError as error:
            raise InterchangeAlreadyCommitted(interchange_id, None) from error
        return row

    def mark_duplicate(self, interchange_id: int) -> Interchange:
        """After ``InterchangeAlreadyCommitted`` (and a rollback): record the loser as the winner's duplicate."""
        row = self.get(interchange_id)
        original = self.find_committed(row.sender, row.sha256) if row.sender is not None else None
        if original is None or original.id == interchange_id:
            raise RepositoryError(f"interchange {interchange_id} repeats no committed interchange")
        row.status = InterchangeStatus.DUPLICATE
        row.duplicate_of_id = original.id
        row.content = None
        self.session.flush()
        return row

    def reject(self, interchange_id: int, reason: str) -> Interchange:
        row = self.get(interchange_id)
        if row.status is InterchangeStatus.COMMITTED:
            raise RepositoryError(f"interchange {interchange_id} is committed and cannot be rejected")
        row.status = InterchangeStatus.REJECTED
        row.reason = reason
        self.session.flush()
        return row

    def record_set(
        self,
        interchange_id: int,
        position: int,
        *,
        status: SetStatus,
        set_id: str | None,
        group_control_number: str | None,
        set_control_number: str | None,
        findings: Iterable[Finding | Mapping[str, Any]] = (),
        order_id: int | None = None,
    ) -> TransactionSet:
        """Record the interchange's ``position``-th set; recording it again (a rerun) replaces the record."""
        row = self.session.scalars(
            select(TransactionSet).where(
                TransactionSet.interchange_id == interchange_id, TransactionSet.position == position
            )
        ).one_or_none()
        if row is None:
            row = TransactionSet(interchange_id=interchange_id, position=position)
            self.session.add(row)
        record = SetRecord(
            position, status, set_id, group_control_number, set_control_number, tuple(findings), order_id
        )
        for name, value in _set_columns(record).items():
            setattr(row, name, value)
        self.session.flush()
        return row

    def record_new_sets(self, interchange_id: int, records: Sequence[SetRecord]) -> None:
        """Record many sets of an interchange none of whose sets is recorded yet, in one statement."""
        if not records:
            return
        rows = [
            {"interchange_id": interchange_id, "position": record.position, **_set_columns(record)}
            for record in records
        ]
        insert_many(self.session, _table(TransactionSet), rows)

    def has_sets(self, interchange_id: int) -> bool:
        """Whether any set of the interchange is recorded (a rerun of a file processed before)."""
        query = select(TransactionSet.id).where(TransactionSet.interchange_id == interchange_id).limit(1)
        return self.session.scalars(query).first() is not None

    def sets(self, interchange_id: int) -> list[TransactionSet]:
        query = select(TransactionSet).where(TransactionSet.interchange_id == interchange_id)
        return list(self.session.scalars(query.order_by(TransactionSet.position)))

    def quarantine(
        self,
        interchange_id: int,
        *,
        reason: str,
        findings: Iterable[Finding | Mapping[str, Any]] = (),
        transaction_set_id: int | None = None,
        at: datetime | None = None,
    ) -> QuarantineEntry:
        """Hold an interchange (or one of its sets) for a person; quarantining it again updates the open entry."""
        entry = self.session.scalars(
            select(QuarantineEntry).where(
                QuarantineEntry.interchange_id == interchange_id,
                QuarantineEntry.transaction_set_id.is_(None)
                if transaction_set_id is None
                else QuarantineEntry.transaction_set_id == transaction_set_id,
                QuarantineEntry.released_at.is_(None),
            )
        ).first()
        if entry is None:
            entry = QuarantineEntry(
                interchange_id=interchange_id, transaction_set_id=transaction_set_id, created_at=at or utc_now()
            )
            self.session.add(entry)
        entry.reason = reason
        entry.findings = findings_json(findings)
        if transaction_set_id is not None:
            _one(self.session, TransactionSet, transaction_set_id).status = SetStatus.QUARANTINED
        self.session.flush()
        return entry

    def quarantined(self) -> list[QuarantineEntry]:
        """What waits for a person, oldest first."""
        query = select(QuarantineEntry).where(QuarantineEntry.released_at.is_(None))
        return list(self.session.scalars(query.order_by(QuarantineEntry.id)))

    def release(self, entry_id: int, *, by: str, at: datetime | None = None) -> QuarantineEntry:
        entry = _one(self.session, QuarantineEntry, entry_id)
        entry.released_at = at or utc_now()
        entry.released_by = by
        self.session.flush()
        return entry


def _set_columns(record: SetRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "set_id": _text(record.set_id, "ST01"),
        "group_control_number": _text(record.group_control_number, "GS06"),
        "set_control_number": _text(record.set_control_number, "ST02"),
        "findings": findings_json(record.findings),
        "order_id": record.order_id,
    }


# -- outbound documents -----------------------------------------------------------------------------------
class OutboundRepository:
    """What we send, keyed by its cause so that one cause never produces two documents.

    A cause key names the decision a document carries, e.g. ``997:interchange:41:group:7`` or
    ``855:order:12:v3``. Look it up (``for_cause``) before taking control numbers; ``add`` refuses
    a second document for it, and the unique constraint does so even between concurrent workers.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def for_cause(self, cause_key: str) -> OutboundDocument | None:
        _text(cause_key, "cause key")
        return self.session.scalars(select(OutboundDocument).where(OutboundDocument.cause_key == cause_key)).first()

    def add(
        self,
        *,
        partner_id: str,
        kind: OutboundKind,
        cause_key: str,
        content: bytes,
        sender: str | None = None,
        receiver: str | None = None,
        interchange_control_number: int | None = None,
        group_control_number: int | None = None,
        set_control_number: int | None = None,
        file_name: str | None = None,
        due_at: datetime | None = None,
        interchange_id: int | None = None,
        order_id: int | None = None,
        at: datetime | None = None,
    ) -> OutboundDocument:
        existing = self.for_cause(cause_key)
        if existing is not None:
            raise CauseAlreadyHandled(cause_key, existing.id)
        document = OutboundDocument(
            **_outbound_columns(
                {
                    "partner_id": partner_id, "kind": kind, "cause_key": cause_key, "content": content,
                    "sender": sender, "receiver": receiver, "interchange_control_number": interchange_control_number,
                    "group_control_number": group_control_number, "set_control_number": set_control_number,
                    "file_name": file_name, "due_at": due_at, "interchange_id": interchange_id,
                    "order_id": order_id, "at": at,
                }
            )
        )  # fmt: skip
        self.session.add(document)
        try:
            self.session.flush()
        except IntegrityError as error:  # a concurrent worker took the cause first
            raise CauseAlreadyHandled(cause_key, None) from error
        return document

    def add_new(self, documents: Sequence[Mapping[str, Any]]) -> None:
        """Record many documents whose causes are new (an order stored a moment ago), in one statement.

        Each mapping holds ``add``'s keyword arguments. Raises ``CauseAlreadyHandled`` when a
        cause has a document after all; the caller's transaction must then roll back.
        """
        if not documents:
            return
        rows = [_outbound_columns(d) for d in documents]
        try:
            insert_many(self.session, _table(OutboundDocument), rows)
        except IntegrityError as error:
            raise CauseAlreadyHandled(f"one of {len(rows)} causes (first {rows[0]['cause_key']!r})", None) from error

    def add_bundles(self, bundles: Sequence[tuple[Mapping[str, Any] | None, Sequence[Mapping[str, Any]]]]) -> None:
        """Record documents sent together: each bundle is a carrier (``add``'s arguments, holding the
        interchange), or None for a document travelling alone, and the documents it holds, which then
        refer to it and hold no content of their own. Many bundles take one statement for their documents.
        """
        rows: list[Mapping[str, Any]] = []
        for carrier, documents in bundles:
            if carrier is None:
                rows += documents
                continue
            bundle = self.add(**carrier)
            rows += [{**document, "bundle_id": bundle.id, "content": b""} for document in documents]
        self.add_new(rows)

    def content_of(self, document: OutboundDocument) -> bytes:
        """The interchange that carried the document (its carrier's, when it went out with others)."""
        if document.bundle_id is None:
            return document.content
        return self.get(document.bundle_id).content

    def get(self, document_id: int) -> OutboundDocument:
        return _one(self.session, OutboundDocument, document_id)

    def pending(self) -> list[OutboundDocument]:
        """Documents to place in the outbox, oldest first: those travelling in a carrier go with it."""
        return list(self.session.scalars(select(OutboundDocument).where(*_TO_PLACE).order_by(OutboundDocument.id)))

    def mark_sent(self, document_id: int, *, at: datetime | None = None) -> OutboundDocument:
        """The document (with what it carries) is in the partner's hands."""
        self.mark_sent_many([document_id], at=at)
        document = self.get(document_id)
        self.session.refresh(document)
        return document

    def pending_ids(self, partner_ids: Collection[str] | None = None) -> list[int]:
        """The ids of ``pending()`` (of these partners' documents only, when named), without
        loading the documents' content."""
        query = select(OutboundDocument.id).where(*_TO_PLACE).order_by(OutboundDocument.id)
        if partner_ids is not None:
            query = query.where(OutboundDocument.partner_id.in_(sorted(partner_ids)))
        return list(self.session.scalars(query))

    def hold_pending(self, document_ids: Sequence[int]) -> list[OutboundDocument]:
        """Those of ``document_ids`` still pending, locked for this transaction (``FOR UPDATE``), by id."""
        query = (
            select(OutboundDocument)
            .where(OutboundDocument.id.in_(document_ids), OutboundDocument.status == OutboundStatus.PENDING)
            .order_by(OutboundDocument.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(self.session.scalars(query))

    def mark_sent_many(self, document_ids: Sequence[int], *, at: datetime | None = None) -> None:
        if document_ids:
            self.session.execute(
                update(OutboundDocument)
                .where(or_(OutboundDocument.id.in_(document_ids), OutboundDocument.bundle_id.in_(document_ids)))
                .values(status=OutboundStatus.SENT, sent_at=at or utc_now())
                .execution_options(synchronize_session=False)
            )

    def find_by_group(self, partner_id: str, group_control_number: int) -> OutboundDocument | None:
        """The document a partner's 997 answers (AK102 names our GS06): the latest if a number recurs,
        and the carrier rather than what it carries."""
        query = select(OutboundDocument).where(
            OutboundDocument.partner_id == partner_id,
            OutboundDocument.group_control_number == group_control_number,
            OutboundDocument.bundle_id.is_(None),
        )
        return self.session.scalars(query.order_by(OutboundDocument.id.desc()).limit(1)).first()

    def record_ack(
        self,
        document_id: int,
        *,
        accepted: bool,
        result: Mapping[str, Any],
        sets: Mapping[int, bool] | None = None,
        at: datetime | None = None,
    ) -> OutboundDocument:
        """The partner's 997/999 answered: accepted or rejected, with what it said.

        The documents a carrier holds take the answer about their own set (``sets``: ST02 ->
        accepted, from the AK2 loops) or, without one, the group's.
        """
        document = self.get(document_id)
        moment = at or utc_now()
        members = self.session.scalars(select(OutboundDocument).where(OutboundDocument.bundle_id == document_id))
        for each in [document, *members]:
            own = (sets or {}).get(each.set_control_number or 0, accepted) if each is not document else accepted
            each.status = OutboundStatus.ACCEPTED if own else OutboundStatus.REJECTED
            each.ack_result = dict(result)
            each.acknowledged_at = moment
        self.session.flush()
        return document

    def mark_overdue(self, now: datetime | None = None) -> list[OutboundDocument]:
        """Sent documents whose 997 is past due become overdue (something a person must see); returns them."""
        query = (
            select(OutboundDocument)
            .where(
                OutboundDocument.status == OutboundStatus.SENT,
                OutboundDocument.due_at.is_not(None),
                OutboundDocument.due_at <= (now or utc_now()),
            )
            .order_by(OutboundDocument.id)
            .with_for_update()
        )
        overdue = list(self.session.scalars(query))
        for document in overdue:
            document.status = OutboundStatus.OVERDUE
        self.session.flush()
        return overdue


#: What the outbox flush places: pending documents, except those a carrier holds (it goes for them).
_TO_PLACE = (OutboundDocument.status == OutboundStatus.PENDING, OutboundDocument.bundle_id.is_(None))


def _outbound_columns(d: Mapping[str, Any]) -> dict[str, Any]:
    """A new, pending outbound document's columns from ``OutboundRepository.add``'s arguments."""
    return {
        "partner_id": d["partner_id"],
        "kind": d["kind"],
        "cause_key": _text(d["cause_key"], "cause key"),
        "status": OutboundStatus.PENDING,
        "sender": _text(d.get("sender"), "sender"),
        "receiver": _text(d.get("receiver"), "receiver"),
        "interchange_control_number": d.get("interchange_control_number"),
        "group_control_number": d.get("group_control_number"),
        "set_control_number": d.get("set_control_number"),
        "file_name": _text(d.get("file_name"), "file name"),
        "content": d["content"],
        "interchange_id": d.get("interchange_id"),
        "order_id": d.get("order_id"),
        "bundle_id": d.get("bundle_id"),
        "created_at": d.get("at") or utc_now(),
        "due_at": d.get("due_at"),
    }
