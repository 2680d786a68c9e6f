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

``held()`` serves a run of documents (a file's 855s) from memory: the first number of each
counter is still taken by the upsert, which locks the row, and the following ones are counted
in memory and written back with one ``UPDATE`` when the block ends, in the same transaction. No
other transaction can take from a locked counter meanwhile, so the numbers are the same ones the
upserts would have handed out, at one statement per counter instead of one per number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select, update
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
        #: While ``held()``: the last number handed out per counter, and whether the row lags behind it.
        self._held: dict[tuple[ControlLevel, str, str], list[Any]] | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Count numbers in memory inside the block and write each counter back once at its end.

        For many documents in one transaction. The rows stay locked by their first upsert until
        the transaction ends; an exception inside the block writes nothing back, and the
        transaction must then be rolled back (which ``unit_of_work`` does).
        """
        if self._held is not None:
            yield
            return
        self._held = {}
        try:
            yield
            for (level, sender, receiver), (value, behind) in self._held.items():
                if behind:
                    self.session.execute(
                        update(ControlCounter)
                        .where(
                            ControlCounter.level == level,
                            ControlCounter.sender == sender,
                            ControlCounter.receiver == receiver,
                        )
                        .values(last_value=value)
                    )
        finally:
            self._held = None

    def next_interchange(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.INTERCHANGE, sender, receiver)

    def next_group(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.GROUP, sender, receiver)

    def next_set(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.SET, sender, receiver)

    def last(self, level: ControlLevel, sender: str, receiver: str) -> int | None:
        """The last number handed out (as this transaction sees it), or None if none ever was."""
        if self._held is not None and (level, sender, receiver) in self._held:
            return int(self._held[(level, sender, receiver)][0])
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
        if self._held is not None:
            raise RuntimeError("advance_to cannot be used while numbers are held")
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
        if self._held is not None:
            counter = self._held.get((level, sender, receiver))
            if counter is not None:
                if counter[0] >= MAX_CONTROL_NUMBER:
                    raise _exhausted(level, sender, receiver)
                counter[0] += 1
                counter[1] = True
                return int(counter[0])
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
            raise _exhausted(level, sender, receiver)
        if self._held is not None:
            self._held[(level, sender, receiver)] = [number, False]
        return number

    def _insert(self) -> Any:
        # Both dialects' insert() offer the same on_conflict_do_update; the upsert is the lock.
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql_insert(ControlCounter)
        if dialect == "sqlite":
            return sqlite_insert(ControlCounter)
        raise NotImplementedError(f"control numbers need SQLite or PostgreSQL, not {dialect}")


def _exhausted(level: ControlLevel, sender: str, receiver: str) -> ControlNumbersExhausted:
    return ControlNumbersExhausted(
        f"no {level.value} control number is left from {sender!r} to {receiver!r}: "
        f"{MAX_CONTROL_NUMBER} has been used and numbers are never reused"
    )


def _key() -> list[Any]:
    return [ControlCounter.level, ControlCounter.sender, ControlCounter.receiver]


def _in_range(number: int, what: str) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"{what} must be an int, not {type(number).__name__}")
    if not 1 <= number <= MAX_CONTROL_NUMBER:
        raise ValueError(f"{what} {number} is outside 1..{MAX_CONTROL_NUMBER}, the nine digits a control number has")
    return number
