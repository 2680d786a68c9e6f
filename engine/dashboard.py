"""The Order Dashboard's "Require Attention" section: what waits for a person, counted and listed
for the partners one may see (an organisation's, or all for an administrator).

New cancels are read from the stored order counters; the other counts are indexed queries over
the open orders, the outbound documents and the quarantine.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.db.tables import (
    Interchange,
    OrderCounter,
    OrderRow,
    OutboundDocument,
    OutboundStatus,
    QuarantineEntry,
)
from engine.model import OrderStatus

#: Orders that still have something to ship: past their ship-by date, they need a person.
STILL_TO_SHIP = (OrderStatus.NEW, OrderStatus.ACKNOWLEDGED, OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_SHIPPED)


@dataclass(frozen=True)
class Attention:
    new_cancels: int  # retailer cancels waiting to be acknowledged (or refused)
    past_ship_by: int  # orders with something left to ship after their ship-by date
    rejected: int  # documents we sent that a 997/999 rejected
    overdue: int  # documents we sent whose 997 did not come by the partner's deadline
    quarantined: int  # inbound files or sets waiting in quarantine

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def require_attention(session: Session, visible: Collection[str], *, today: date, now: datetime,
                      admin: bool = False) -> Attention:  # fmt: skip
    """The counts of the Require Attention section (``admin`` also counts files from no known partner)."""
    partners = sorted(visible)
    new_cancels = session.scalar(
        select(func.coalesce(func.sum(OrderCounter.count), 0)).where(
            OrderCounter.partner_id.in_(partners),
            OrderCounter.test.is_(False),
            OrderCounter.status == OrderStatus.RETAILER_CANCEL_PENDING,
        )
    )
    past = session.scalar(select(func.count()).select_from(OrderRow).where(*_past_ship_by(partners, today)))
    rejected = session.scalar(select(func.count()).select_from(OutboundDocument).where(*_rejected(partners)))
    overdue = session.scalar(select(func.count()).select_from(OutboundDocument).where(*_overdue(partners, now)))
    quarantined = session.scalar(
        select(func.count()).select_from(QuarantineEntry).join(Interchange).where(*_quarantined(partners, admin))
    )
    return Attention(int(new_cancels or 0), past or 0, rejected or 0, overdue or 0, quarantined or 0)


def _past_ship_by(partners: list[str], today: date) -> list[Any]:
    return [
        OrderRow.partner_id.in_(partners),
        OrderRow.test.is_(False),
        OrderRow.ship_by_date < today,
        OrderRow.status.in_(STILL_TO_SHIP),
    ]


def _rejected(partners: list[str]) -> list[Any]:
    return [
        OutboundDocument.partner_id.in_(partners),
        OutboundDocument.bundle_id.is_(None),
        OutboundDocument.status == OutboundStatus.REJECTED,
    ]


def _overdue(partners: list[str], now: datetime) -> list[Any]:
    late = (OutboundDocument.status == OutboundStatus.SENT) & (OutboundDocument.due_at < now)
    return [
        OutboundDocument.partner_id.in_(partners),
        OutboundDocument.bundle_id.is_(None),
        or_(OutboundDocument.status == OutboundStatus.OVERDUE, late),
    ]


def _quarantined(partners: list[str], admin: bool) -> list[Any]:
    mine = Interchange.partner_id.in_(partners)
    return [QuarantineEntry.released_at.is_(None), or_(mine, Interchange.partner_id.is_(None)) if admin else mine]


def orders_past_ship_by(session: Session, visible: Collection[str], *, today: date, limit: int = 200) -> list[OrderRow]:
    """The orders behind ``past_ship_by``, the longest overdue first."""
    query = select(OrderRow).where(*_past_ship_by(sorted(visible), today))
    return list(session.scalars(query.order_by(OrderRow.ship_by_date, OrderRow.id).limit(limit)))


def documents_needing_attention(
    session: Session, visible: Collection[str], *, now: datetime, rejected: bool, limit: int = 200
) -> list[OutboundDocument]:
    """The documents behind ``rejected`` (or, with ``rejected=False``, behind ``overdue``), newest first."""
    where = _rejected(sorted(visible)) if rejected else _overdue(sorted(visible), now)
    query = select(OutboundDocument).where(*where).order_by(OutboundDocument.id.desc()).limit(limit)
    return list(session.scalars(query))


def quarantine_entries(
    session: Session, visible: Collection[str], *, admin: bool = False, limit: int = 200
) -> list[tuple[QuarantineEntry, Interchange]]:
    """The entries behind ``quarantined``, newest first, each with its interchange."""
    query = (
        select(QuarantineEntry, Interchange)
        .join(Interchange)
        .where(*_quarantined(sorted(visible), admin))
        .order_by(QuarantineEntry.id.desc())
        .limit(limit)
    )
    return [(entry, interchange) for entry, interchange in session.execute(query)]
