"""The storage backends the database contract suite runs against: SQLite (a file) and PostgreSQL.

Each test session makes its own PostgreSQL database with a random name (through psycopg on the
server's ``postgres`` database) and drops it at the end, so parallel workers and parallel
checkouts never meet. Where PostgreSQL is not reachable its half of the suite is skipped with the
reason; under CI=true ``tests/conftest.py`` turns that skip into a failure.

Test modules import the fixtures they use from here (``from tests.db_fixtures import db``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL, Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from engine.db.migrate import upgrade
from engine.db.session import make_engine, make_sessions, unit_of_work
from engine.db.tables import Base
from mappings.profile import Role

#: The server's maintenance database, where scratch databases are created and dropped.
POSTGRES_VARIABLE = "EDI_TEST_POSTGRES_URL"
POSTGRES_ADMIN_URL = os.environ.get(POSTGRES_VARIABLE, "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


def _conninfo(url: URL) -> dict[str, object]:
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password,
        "dbname": url.database or "postgres",
        "connect_timeout": 5,
    }


@contextmanager
def scratch_postgres_database(prefix: str = "edi_test") -> Iterator[URL]:
    """A new, empty PostgreSQL database for as long as the block runs; skips the test if there is no server."""
    admin = make_url(POSTGRES_ADMIN_URL)
    try:
        connection = psycopg.connect(**_conninfo(admin), autocommit=True)
    except psycopg.OperationalError as error:
        pytest.skip(
            f"PostgreSQL is not reachable at {admin.render_as_string(hide_password=True)} ({error}); "
            f"start it or point ${POSTGRES_VARIABLE} at one"
        )
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.set(drivername="postgresql+psycopg", database=name)
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[URL]:
    """This session's PostgreSQL database, migrated once; tests empty it before they start."""
    with scratch_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, rather than running the migration again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "edi.sqlite3"
    upgrade(f"sqlite:///{path}")  # closes every connection, which folds the WAL into the file
    return path


@dataclass
class Db:
    """One backend, migrated and empty."""

    backend: str
    url: URL
    engine: Engine
    sessions: sessionmaker[Session]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    backend: str = request.param
    if backend == "sqlite":
        path = tmp_path / "edi.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
        url = make_url(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("migrated_postgres")
    engine = make_engine(url)
    if backend == "postgresql":
        names = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    try:
        yield Db(backend, url, engine, make_sessions(engine))
    finally:
        engine.dispose()


def add_partner(db: Db, partner_id: str = "acme", *, role: Role = Role.RETAILER) -> None:
    with unit_of_work(db.sessions) as uow:
        uow.partners.save(partner_id, name=f"{partner_id.title()} Stores", role=role)


def run_together(work: list[Callable[[], None]]) -> None:
    """Run each callable in its own thread, started together; re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait()
            job()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
