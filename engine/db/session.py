"""Engines, sessions and the unit of work. Nothing here connects until it is asked to.

Two backends, one behaviour:

* SQLite (the default, one file): write-ahead logging so readers never wait for the writer,
  foreign keys enforced, and every transaction opened with ``BEGIN IMMEDIATE``. SQLite has one
  writer; taking its lock when the transaction starts means a transaction that read first and
  writes later cannot fail half-way with "database is locked", and that control numbers are
  handed out under the lock (see ``engine.db.control_numbers``). Waiting writers queue for up to
  ``SQLITE_BUSY_SECONDS``.
* PostgreSQL through psycopg 3 (``postgresql+psycopg://``; a bare ``postgresql://`` is taken to
  mean psycopg too), at its default READ COMMITTED isolation; rows that must not be written
  twice are locked where they are written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.db.control_numbers import DatabaseControlNumbers
from engine.db.repository import InterchangeRepository, OrderRepository, OutboundRepository, PartnerRepository
from engine.db.types import dump_json

#: Where the database is when nobody says: a SQLite file in the working directory's var/.
DEFAULT_URL = "sqlite:///var/edi-engine.sqlite3"
#: The environment variable that names the database.
URL_VARIABLE = "EDI_ENGINE_DATABASE_URL"
SQLITE_BUSY_SECONDS = 30.0

SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def database_url(environ: dict[str, str] | None = None) -> str:
    """The configured database URL: ``$EDI_ENGINE_DATABASE_URL``, else ``DEFAULT_URL``."""
    env = os.environ if environ is None else environ
    return env.get(URL_VARIABLE) or DEFAULT_URL


def normalise_url(url: str | URL) -> URL:
    """A URL this package can open: psycopg 3 for PostgreSQL, SQLite or PostgreSQL only."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ValueError(f"{parsed.render_as_string(hide_password=True)}: only SQLite and PostgreSQL are supported")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL | None = None, **options: Any) -> Engine:
    """An engine for ``url`` (default: ``database_url()``), set up as the module docstring says.

    Creating the engine opens no connection; a SQLite file's folder is created so that the
    first connection can make the file. ``options`` go to ``sqlalchemy.create_engine``.
    """
    parsed = normalise_url(database_url() if url is None else url)
    options.setdefault("json_serializer", dump_json)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **options)
    options.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **options)


def _sqlite_engine(url: URL, **options: Any) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"timeout": SQLITE_BUSY_SECONDS, **options.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module (which begins lazily, and not before
        # a SELECT); SQLAlchemy's "begin" event below opens each transaction instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the unit of work hands values out)."""
    return sessionmaker(engine, expire_on_commit=False)


@dataclass(frozen=True)
class UnitOfWork:
    """One transaction and everything that works inside it."""

    session: Session
    partners: PartnerRepository
    orders: OrderRepository
    interchanges: InterchangeRepository
    outbound: OutboundRepository
    control_numbers: DatabaseControlNumbers

    @classmethod
    def on(cls, session: Session) -> UnitOfWork:
        return cls(
            session=session,
            partners=PartnerRepository(session),
            orders=OrderRepository(session),
            interchanges=InterchangeRepository(session),
            outbound=OutboundRepository(session),
            control_numbers=DatabaseControlNumbers(session),
        )


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[UnitOfWork]:
    """A transaction: committed when the block ends normally, rolled back when it raises.

    Everything done inside, control numbers included, becomes durable together or not at all.
    """
    with sessions() as session, session.begin():
        yield UnitOfWork.on(session)
