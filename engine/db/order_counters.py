"""How many orders each partner has in each status, kept in ``order_counters`` so that the portal's
tab counts are read from a few rows rather than counted over the orders on every request.

The counters change in the transaction that changes the orders, never in another: the
repository records a change (``count_change``) whenever it inserts an order or saves one whose
status moved, and the session applies them all just before it commits. Deferring them to the
commit, in key order, is what keeps concurrent writers safe and free of deadlocks:

* each change is one atomic upsert, ``count = count + delta`` (``INSERT ... ON CONFLICT DO UPDATE``
  on both backends), so two transactions moving different orders of one partner both count: on
  PostgreSQL the second waits for the first's row lock and then adds to the committed value;
* every transaction takes its counter rows last and in the same order, so a transaction waiting
  for a counter row waits for one that holds nothing it needs; taken where the order changed,
  a cancel (counters, then control numbers) and an ingest (control numbers, then counters) could
  wait for each other. A counter row is also held only for the moment of the commit, not for
  the rest of a long ingest.

Inside a savepoint (``begin_nested``) a change is applied at once instead, so that rolling the
savepoint back takes it back too. Orders are never deleted; a partner's counters go with the
partner (``ON DELETE CASCADE``). Until a transaction commits, its own changes are not in the
counters it reads.

``recount`` rebuilds the counters from the orders (a database that had orders before the
counters existed: ``ensure_counted`` at ``Runtime.open``); ``counters_match`` lists where they
differ from a count of the orders, for tests and for operations::

    python -m engine.db.order_counters check [URL]
    python -m engine.db.order_counters recount [URL]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, event, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from engine.db.tables import OrderCounter, OrderRow
from engine.model import OrderStatus

#: (partner id, test, status): one counter.
Key = tuple[str, bool, OrderStatus]

#: Where a session keeps the changes it will apply when it commits.
_PENDING = "edi_engine.order_counter_changes"


def count_change(
    session: Session, partner_id: str, test: bool, old: OrderStatus | None, new: OrderStatus | None
) -> None:
    """An order of the partner moved from status ``old`` to ``new`` (None: it did not exist / no longer does)."""
    if old == new:
        return
    changes: Counter[Key] = Counter()
    if old is not None:
        changes[(partner_id, test, OrderStatus(old))] -= 1
    if new is not None:
        changes[(partner_id, test, OrderStatus(new))] += 1
    count_changes(session, changes)


def count_new(session: Session, keys: Iterable[Key]) -> None:
    """Orders were inserted, one for each of ``keys`` (a key once per order)."""
    count_changes(session, Counter(keys))


def count_changes(session: Session, changes: Counter[Key]) -> None:
    """Add ``changes`` (key -> delta) to the counters when the session's transaction commits."""
    if session.in_nested_transaction():
        _apply(session, changes)
        return
    pending: Counter[Key] = session.info.setdefault(_PENDING, Counter())
    pending.update(changes)


@event.listens_for(Session, "before_commit")
def _apply_pending(session: Session) -> None:
    """Apply the changes the transaction recorded, last, in key order (see the module docstring)."""
    if session.in_nested_transaction() or not session.info.get(_PENDING):
        return
    session.flush()  # whatever the commit would flush, so that the counter rows are the last rows taken
    _apply(session, session.info.pop(_PENDING))


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended without applying its changes (rolled back, closed) leaves none behind."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _apply(session: Session, changes: Counter[Key]) -> None:
    for (partner_id, test, status), delta in sorted(changes.items()):
        if delta:
            session.execute(
                _upsert(session), {"partner_id": partner_id, "test": test, "status": status, "count": delta}
            )


def _upsert(session: Session) -> Any:
    """``INSERT ... ON CONFLICT (partner_id, test, status) DO UPDATE SET count = count + excluded.count``."""
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(OrderCounter)
    return statement.on_conflict_do_update(
        index_elements=[OrderCounter.partner_id, OrderCounter.test, OrderCounter.status],
        set_={"count": OrderCounter.count + statement.excluded["count"]},
    )


# -- rebuilding and checking ----------------------------------------------------------------------------
def recount(session: Session) -> None:
    """Rebuild every counter from the orders, in the caller's transaction.

    On PostgreSQL the orders are locked against writes (``SHARE``) until the transaction ends,
    so no order changes between the count and the commit, and a second recount waits for this
    one (``EXCLUSIVE`` on the counters). Changes this session recorded and has not yet applied
    are dropped: the count includes them.
    """
    session.flush()
    session.info.pop(_PENDING, None)
    if session.get_bind().dialect.name == "postgresql":
        # Orders first, as every writer takes them (then the counters, at its commit).
        session.execute(text("LOCK TABLE orders IN SHARE MODE"))
        session.execute(text("LOCK TABLE order_counters IN EXCLUSIVE MODE"))
    session.execute(delete(OrderCounter))
    counted = select(OrderRow.partner_id, OrderRow.test, OrderRow.status, func.count()).group_by(
        OrderRow.partner_id, OrderRow.test, OrderRow.status
    )
    session.execute(
        insert(OrderCounter).from_select(
            [OrderCounter.partner_id, OrderCounter.test, OrderCounter.status, OrderCounter.count], counted
        )
    )


def counters_match(session: Session) -> list[str]:
    """Each counter that differs from a count of the orders, in a sentence (empty: they all match).

    A counter at zero and no counter at all both mean no orders.
    """
    stored = {
        (partner_id, test, OrderStatus(status)): count
        for partner_id, test, status, count in session.execute(
            select(OrderCounter.partner_id, OrderCounter.test, OrderCounter.status, OrderCounter.count)
        )
    }
    counted = {
        (partner_id, test, OrderStatus(status)): count
        for partner_id, test, status, count in session.execute(
            select(OrderRow.partner_id, OrderRow.test, OrderRow.status, func.count()).group_by(
                OrderRow.partner_id, OrderRow.test, OrderRow.status
            )
        )
    }
    problems = []
    for key in sorted(stored.keys() | counted.keys()):
        have, want = stored.get(key, 0), counted.get(key, 0)
        if have != want:
            partner_id, test, status = key
            space = "test" if test else "production"
            problems.append(
                f"partner {partner_id!r} ({space}) {status.value}: the counter says {have}, the orders {want}"
            )
    return problems


def ensure_counted(sessions: sessionmaker[Session]) -> bool:
    """Recount when there are orders but no counters at all (a database that had orders before
    the counters were kept); whether it recounted. Two short queries otherwise."""
    with sessions() as session, session.begin():
        if session.scalars(select(OrderCounter.partner_id).limit(1)).first() is not None:
            return False
        if session.scalars(select(OrderRow.id).limit(1)).first() is None:
            return False
        recount(session)
        return True


def main(argv: Sequence[str] | None = None) -> int:
    from engine.db.session import make_engine, make_sessions

    parser = argparse.ArgumentParser(prog="python -m engine.db.order_counters", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "recount"))
    parser.add_argument("url", nargs="?", help="the database (default: $EDI_ENGINE_DATABASE_URL)")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    try:
        with make_sessions(engine).begin() as session:
            if args.command == "recount":
                recount(session)
            problems = counters_match(session)
    finally:
        engine.dispose()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} counters differ from the orders" if problems else "the counters match the orders")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
