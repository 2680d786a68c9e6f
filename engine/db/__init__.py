"""Persistence: the engine's records in SQLite or PostgreSQL, behind repositories and a unit of work.

* ``tables``: the typed SQLAlchemy mappings (and the statuses that belong to the database alone);
* ``session``: ``make_engine(url)``, ``make_sessions(engine)``, ``unit_of_work(sessions)``;
* ``repository``: partners, canonical orders, interchanges and their sets, quarantine, outbound documents;
* ``control_numbers``: ``DatabaseControlNumbers``, the persistent ``ControlNumberProvider``;
* ``migrate``: ``upgrade(url)`` and friends over the Alembic revisions in ``migrations/``
  (``python -m engine.db.migrate upgrade [URL]``).

Nothing connects at import time; an engine connects when a unit of work first needs it.
"""

from engine.db.control_numbers import DatabaseControlNumbers
from engine.db.repository import (
    CauseAlreadyHandled,
    InterchangeAlreadyCommitted,
    NotFound,
    OrderExists,
    OrderFilter,
    OrderPage,
    OrderSummary,
    Reception,
    RepositoryError,
    StaleOrder,
    StoredOrder,
)
from engine.db.session import UnitOfWork, database_url, make_engine, make_sessions, unit_of_work

__all__ = [
    "CauseAlreadyHandled",
    "DatabaseControlNumbers",
    "InterchangeAlreadyCommitted",
    "NotFound",
    "OrderExists",
    "OrderFilter",
    "OrderPage",
    "OrderSummary",
    "Reception",
    "RepositoryError",
    "StaleOrder",
    "StoredOrder",
    "UnitOfWork",
    "database_url",
    "make_engine",
    "make_sessions",
    "unit_of_work",
]
