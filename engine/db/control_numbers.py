"""Control numbers kept in the database: the persistent ``ControlNumberProvider``.

Numbers are taken inside the caller's transaction and never committed here. Each one is a single
upsert on the counter's row (``INSERT ... ON CONFLICT DO UPDATE SET last_value = last_value + 1
... RETURNING``), which locks that row until the transaction ends: on PostgreSQL another
transaction asking for the same counter waits on the row lock (the same lock ``SELECT ... FOR
UPDATE`` would take, in one round trip), and on SQLite the whole database is already locked
for writing (``BEGIN IMMEDIATE``, see ``engine.db.session``). So:

* committed with the documents that carry them, the numbers are strictly increasing without gaps;
* a transaction that rolls back gives its numbers back, and the next transaction takes them;
* two transactions never hold the same number.

A transaction that takes numbers and then commits without the documents leaves a gap; record the
outbound document in the same transaction as the numbers it carries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from edi.x12.control_numbers import MAX_CONTROL_NUMBER, ControlLevel, ControlNumbersExhausted
from engine.db.tables import ControlCounter


class DatabaseControlNumbers:
    """A ``ControlNumberProvider`` on the ``control_counters`` table, working in ``session``'s transaction.

    ``*_start`` is the first number of a counter that has never been used (a new partner); an
    existing counter always continues from its last value.
    """

    def __init__(
        self, session: Session, *, interchange_start: int = 1, group_start: int = 1, set_start: int = 1
    ) -> None:
        self.session = session
        self._starts = {
            ControlLevel.INTERCHANGE: _in_range(interchange_start, "interchange_start"),
            ControlLevel.GROUP: _in_range(group_start, "group_start"),
            ControlLevel.SET: _in_range(set_start, "set_start"),
        }

    def next_interchange(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.INTERCHANGE, sender, receiver)

    def next_group(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.GROUP, sender, receiver)

    def next_set(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.SET, sender, receiver)

    def last(self, level: ControlLevel, sender: str, receiver: str) -> int | None:
        """The last number handed out (as this transaction sees it), or None if none ever was."""
        return self.session.execute(
            select(ControlCounter.last_value).where(
                ControlCounter.level == level, ControlCounter.sender == sender, ControlCounter.receiver == receiver
            )
        ).scalar_one_or_none()

    def advance_to(self, level: ControlLevel, sender: str, receiver: str, last_value: int) -> None:
        """Continue a sequence another system started: the next number will be ``last_value + 1``.

        Refuses to go backwards, which would hand out numbers a partner has already seen.
        """
        _in_range(last_value, "last_value")
        current = self.last(level, sender, receiver)
        if current is not None and current > last_value:
            raise ValueError(
                f"the {level.value} counter from {sender!r} to {receiver!r} is already at {current}; "
                f"moving it back to {last_value} would reuse numbers"
            )
        self.session.execute(
            self._insert()
            .values(level=level, sender=sender, receiver=receiver, last_value=last_value)
            .on_conflict_do_update(index_elements=_key(), set_={"last_value": last_value})
        )

    def _take(self, level: ControlLevel, sender: str, receiver: str) -> int:
        statement = (
            self._insert()
            .values(level=level, sender=sender, receiver=receiver, last_value=self._starts[level])
            .on_conflict_do_update(
                index_elements=_key(),
                set_={"last_value": ControlCounter.last_value + 1},
                where=ControlCounter.last_value < MAX_CONTROL_NUMBER,
            )
            .returning(ControlCounter.last_value)
        )
        number: int | None = self.session.execute(statement).scalar_one_or_none()
        if number is None:
            raise ControlNumbersExhausted(
                f"no {level.value} control number is left from {sender!r} to {receiver!r}: "
                f"{MAX_CONTROL_NUMBER} has been used and numbers are never reused"
            )
        return number

    def _insert(self) -> Any:
        # Both dialects' insert() offer the same on_conflict_do_update; the upsert is the lock.
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql_insert(ControlCounter)
        if dialect == "sqlite":
            return sqlite_insert(ControlCounter)
        raise NotImplementedError(f"control numbers need SQLite or PostgreSQL, not {dialect}")


def _key() -> list[Any]:
    return [ControlCounter.level, ControlCounter.sender, ControlCounter.receiver]


def _in_range(number: int, what: str) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"{what} must be an int, not {type(number).__name__}")
    if not 1 <= number <= MAX_CONTROL_NUMBER:
        raise ValueError(f"{what} {number} is outside 1..{MAX_CONTROL_NUMBER}, the nine digits a control number has")
    return number
