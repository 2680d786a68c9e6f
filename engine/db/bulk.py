"""Inserting many rows at once: one statement per table, for a file's worth of orders.

SQLAlchemy's ``executemany`` handles every row's parameters as a dictionary, through several
layers, before the driver sees them; for small rows (order lines, events) that handling costs
more than SQLite's own insert. On SQLite the rows here go to the driver as plain tuples,
converted by the columns' own bind processors, so the values stored are exactly those
``session.execute(insert(table), rows)`` would store. PostgreSQL keeps SQLAlchemy's
"insertmanyvalues", which folds the rows into a few multi-row statements (far fewer round trips
than the driver's own ``executemany``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any] | None

#: An INSERT's text, the keys in the order it takes them, and each one's bind processor.
Plan = tuple[str, tuple[str, ...], tuple[Processor, ...]]
#: Per (table, the rows' keys, dialect), found once.
_PLANS: dict[tuple[Table, tuple[str, ...], str], Plan] = {}


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` into ``table`` in the session's transaction; every row has the same keys."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if not dialect.positional or dialect.name != "sqlite":
        session.execute(insert(table), list(rows))
        return
    sql, keys, processors = _plan(table, tuple(rows[0]), dialect)
    # Column by column: each column's values converted in one map() call.
    columns = []
    for key, process in zip(keys, processors, strict=True):
        values = [row[key] for row in rows]
        columns.append(values if process is None else list(map(process, values)))
    connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


def _plan(table: Table, given: tuple[str, ...], dialect: Dialect) -> Plan:
    """The INSERT for rows with the ``given`` keys, the keys in the order it takes them, and their processors."""
    plan = _PLANS.get((table, given, dialect.name))
    if plan is None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(given))
        keys = tuple(compiled.positiontup or ())
        if sorted(keys) != sorted(given):  # a column with a Python-side default would need filling in here
            raise ValueError(f"INSERT into {table.name} takes {keys}, not the rows' {given}")
        processors = tuple(table.c[key].type._cached_bind_processor(dialect) for key in keys)
        plan = _PLANS[(table, given, dialect.name)] = (compiled.string, keys, processors)
    return plan
