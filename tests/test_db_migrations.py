"""Migrations build exactly the tables the code maps, on SQLite and PostgreSQL; engines connect only when used."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, CheckConstraint, inspect, make_url, text
from sqlalchemy.exc import IntegrityError

from engine.db.migrate import current_revision, downgrade, upgrade
from engine.db.session import database_url, make_engine, normalise_url
from engine.db.tables import Base
from tests.conftest import ROOT
from tests.db_fixtures import BACKENDS, scratch_postgres_database


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    if request.param == "sqlite":
        yield make_url(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    else:
        with scratch_postgres_database("edi_migration") as url:
            yield url


def schema_differences(url: URL) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def check_constraints(url: URL) -> dict[str, set[str]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: {c["name"] or "" for c in inspector.get_check_constraints(table)}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def mapped_check_constraints() -> dict[str, set[str]]:
    return {
        table.name: {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
        for table in Base.metadata.sorted_tables
    }


def _where(clause: Any) -> str:
    """A partial index's condition, without the casts and brackets PostgreSQL adds when it reads it back."""
    return re.sub(r"::\w+|[()\s]", "", str(clause)) if clause is not None else ""


def keys_and_indexes(url: URL) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        tables = [name for name in inspector.get_table_names() if name != "alembic_version"]
        foreign = {
            (table, fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
             tuple(fk["referred_columns"]), (fk["options"].get("ondelete") or "").upper())
            for table in tables
            for fk in inspector.get_foreign_keys(table)
        }  # fmt: skip
        indexes = {
            (table, ix["name"], tuple(ix["column_names"]), bool(ix["unique"]),
             _where(ix.get("dialect_options", {}).get(f"{engine.dialect.name}_where")))
            for table in tables
            for ix in inspector.get_indexes(table)
            if "duplicates_constraint" not in ix  # PostgreSQL lists unique constraints as indexes too
        }  # fmt: skip
        return foreign, indexes
    finally:
        engine.dispose()


def mapped_keys_and_indexes(dialect: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    foreign = {
        (table.name, fk.name, tuple(c.name for c in fk.columns), fk.referred_table.name,
         tuple(e.column.name for e in fk.elements), (fk.ondelete or "").upper())
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_key_constraints
    }  # fmt: skip
    indexes = {
        (table.name, ix.name, tuple(c.name for c in ix.columns), bool(ix.unique),
         _where(ix.dialect_options[dialect].get("where")))
        for table in Base.metadata.sorted_tables
        for ix in table.indexes
    }  # fmt: skip
    return foreign, indexes


def test_the_migration_builds_exactly_the_mapped_tables(empty_url: URL) -> None:
    upgrade(empty_url)
    assert current_revision(empty_url) == "0008"
    assert schema_differences(empty_url) == []
    # What compare_metadata does not look at: CHECK constraints (the status columns rely on
    # them), ON DELETE rules and the condition of a partial index (the duplicate key's).
    assert check_constraints(empty_url) == mapped_check_constraints()
    assert keys_and_indexes(empty_url) == mapped_keys_and_indexes(empty_url.get_backend_name())


def test_each_check_constraint_allows_exactly_its_enums_values(tmp_path: Path) -> None:
    """SQLite keeps a CHECK's text as the migration wrote it: it must be the text the mapping derives from the enum."""
    url = make_url(f"sqlite:///{tmp_path / 'checks.sqlite3'}")
    upgrade(url)
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        migrated = {
            (table, c["name"]): c["sqltext"]
            for table in inspector.get_table_names()
            for c in inspector.get_check_constraints(table)
        }
    finally:
        engine.dispose()
    mapped = {
        (table.name, c.name): str(c.sqltext)
        for table in Base.metadata.sorted_tables
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }
    assert migrated == mapped


def test_downgrade_removes_everything_and_upgrade_rebuilds_it(empty_url: URL) -> None:
    upgrade(empty_url)
    downgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert schema_differences(empty_url) == []


def test_the_database_refuses_a_status_the_code_does_not_know(empty_url: URL) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO partners (id, name, role, test_mode, created_at, updated_at)"
                    " VALUES ('x', 'X', 'wholesaler', false, :now, :now)"
                ),
                {"now": "2025-01-01 00:00:00"},
            )
    finally:
        engine.dispose()


def test_sqlite_is_opened_with_wal_foreign_keys_and_immediate_transactions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'edi.sqlite3'}")
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # BEGIN IMMEDIATE holds the write lock from the start: another writer must wait.
            other = make_engine(f"sqlite:///{tmp_path / 'sub' / 'edi.sqlite3'}", connect_args={"timeout": 0.05})
            try:
                with pytest.raises(Exception, match="locked"), other.begin():
                    pass
            finally:
                other.dispose()
    finally:
        engine.dispose()


def test_urls_are_normalised_to_psycopg_and_other_backends_refused() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="only SQLite and PostgreSQL"):
        normalise_url("mysql://u@h/db")
    assert database_url({}) == "sqlite:///var/edi-engine.sqlite3"
    assert database_url({"EDI_ENGINE_DATABASE_URL": "postgresql://x/y"}) == "postgresql://x/y"


def test_nothing_connects_at_import_or_when_an_engine_is_made(tmp_path: Path) -> None:
    """Importing the package and making engines opens no connection and creates no database file."""
    script = (
        "import engine.db, engine.db.session, engine.db.repository, engine.db.migrate, engine.db.control_numbers\n"
        "from engine.db.session import make_engine\n"
        "make_engine('postgresql://nobody@127.0.0.1:9/nowhere')\n"
        "make_engine()\n"
    )
    env = {**os.environ, "EDI_ENGINE_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'edi.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "db" / "edi.sqlite3").exists()


def add_partner_row(connection: Any, role: str) -> None:
    """Partner 'acme' as an older revision's tables hold it."""
    connection.execute(
        text(
            "INSERT INTO partners (id, name, role, test_mode, created_at, updated_at)"
            " VALUES ('acme', 'Acme', :role, false, :now, :now)"
        ),
        {"role": role, "now": "2025-01-01 00:00:00"},
    )


def test_bundles_are_added_to_a_database_of_the_first_revision_keeping_its_documents(empty_url: URL) -> None:
    upgrade(empty_url, "0001")
    engine = make_engine(empty_url)
    now = {"now": "2025-01-01 00:00:00"}
    try:
        with engine.begin() as connection:
            add_partner_row(connection, "retailer")
            connection.execute(
                text(
                    "INSERT INTO outbound_documents (partner_id, kind, cause_key, status, content, created_at)"
                    " VALUES ('acme', '855', 'c1', 'sent', :content, :now)"
                ),
                {**now, "content": b"ISA*00"},
            )
        upgrade(empty_url)
        assert current_revision(empty_url) == "0008"
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT cause_key, status, content, bundle_id FROM outbound_documents"))
            assert [tuple(row) for row in rows] == [("c1", "sent", b"ISA*00", None)]
        assert schema_differences(empty_url) == []
        assert check_constraints(empty_url) == mapped_check_constraints()
        downgrade(empty_url, "0001")
        assert "bundle_id" not in {c["name"] for c in inspect(engine).get_columns("outbound_documents")}
    finally:
        engine.dispose()


def test_purchase_orders_are_added_to_a_database_of_the_second_revision_keeping_its_rows(empty_url: URL) -> None:
    upgrade(empty_url, "0002")
    engine = make_engine(empty_url)
    now = {"now": "2025-01-01 00:00:00"}
    try:
        with engine.begin() as connection:
            add_partner_row(connection, "supplier")
            connection.execute(
                text(
                    "INSERT INTO orders (partner_id, po_number, test, status, ordered_qty, open_qty, acknowledged,"
                    " document, version, created_at, updated_at)"
                    " VALUES ('acme', 'PO1', false, 'new', 1, 1, false, '{}', 1, :now, :now)"
                ),
                now,
            )
            connection.execute(
                text(
                    "INSERT INTO order_events (order_id, position, kind, at, actor_kind, detail)"
                    " VALUES (1, 0, 'received', :now, 'engine', '{}')"
                ),
                now,
            )
            connection.execute(
                text(
                    "INSERT INTO outbound_documents (partner_id, kind, cause_key, status, content, created_at, order_id)"
                    " VALUES ('acme', '855', 'c1', 'sent', :content, :now, 1)"
                ),
                {**now, "content": b"ISA*00"},
            )
        upgrade(empty_url)
        assert current_revision(empty_url) == "0008"
        with engine.begin() as connection:
            rows = connection.execute(text("SELECT cause_key, kind, status, content, order_id FROM outbound_documents"))
            assert [tuple(row) for row in rows] == [("c1", "855", "sent", b"ISA*00", 1)]
            events = connection.execute(text("SELECT order_id, position, kind FROM order_events"))
            assert [tuple(row) for row in events] == [(1, 0, "received")]
            # What the new revision allows: an 850 we send and its order's 'sent' event.
            connection.execute(
                text(
                    "INSERT INTO outbound_documents (partner_id, kind, cause_key, status, content, created_at)"
                    " VALUES ('acme', '850', 'c2', 'pending', :content, :now)"
                ),
                {**now, "content": b"ISA*00"},
            )
            connection.execute(
                text(
                    "INSERT INTO order_events (order_id, position, kind, at, actor_kind, detail)"
                    " VALUES (1, 1, 'sent', :now, 'supplier_user', '{}')"
                ),
                now,
            )
        assert schema_differences(empty_url) == []
        assert check_constraints(empty_url) == mapped_check_constraints()
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM outbound_documents WHERE kind = '850'"))
            connection.execute(text("DELETE FROM order_events WHERE kind = 'sent'"))
        downgrade(empty_url, "0002")
        assert current_revision(empty_url) == "0002"
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO outbound_documents (partner_id, kind, cause_key, status, content, created_at)"
                    " VALUES ('acme', '850', 'c3', 'pending', :content, :now)"
                ),
                {**now, "content": b"ISA*00"},
            )
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT cause_key FROM outbound_documents"))
            assert [row[0] for row in rows] == ["c1"]
    finally:
        engine.dispose()


def test_alerts_are_added_to_a_database_of_the_fifth_revision_keeping_its_mailboxes(empty_url: URL) -> None:
    upgrade(empty_url, "0005")
    engine = make_engine(empty_url)
    now = {"now": "2025-01-01 00:00:00"}
    try:
        with engine.begin() as connection:
            add_partner_row(connection, "retailer")
            connection.execute(
                text(
                    "INSERT INTO mailboxes (partner_id, token, last_poll_at, last_error, last_error_at, files_fetched)"
                    " VALUES ('acme', 3, :now, 'refused', :now, 7)"
                ),
                now,
            )
        upgrade(empty_url)
        assert current_revision(empty_url) == "0008"
        with engine.begin() as connection:
            rows = connection.execute(
                text("SELECT partner_id, token, last_error, failing_since, files_fetched FROM mailboxes")
            )
            assert [tuple(row) for row in rows] == [("acme", 3, "refused", None, 7)]
            connection.execute(
                text(
                    "INSERT INTO alerts (key, kind, partner_id, subject, text, occurred_at, created_at, baseline,"
                    " email_status, email_attempts, webhook_status, webhook_attempts)"
                    " VALUES ('quarantine:1', 'quarantine', 'acme', 's', 't', :now, :now, false, 'sent', 1, 'skipped', 0)"
                ),
                now,
            )
        assert schema_differences(empty_url) == []
        assert check_constraints(empty_url) == mapped_check_constraints()
        with pytest.raises(IntegrityError), engine.begin() as connection:  # one alert per key
            connection.execute(
                text(
                    "INSERT INTO alerts (key, kind, subject, text, occurred_at, created_at, baseline,"
                    " email_status, email_attempts, webhook_status, webhook_attempts)"
                    " VALUES ('quarantine:1', 'quarantine', 's', 't', :now, :now, false, 'pending', 0, 'pending', 0)"
                ),
                now,
            )
        downgrade(empty_url, "0005")
        assert current_revision(empty_url) == "0005"
        inspector = inspect(engine)
        assert not {"alerts", "alert_start"} & set(inspector.get_table_names())
        assert "failing_since" not in {c["name"] for c in inspector.get_columns("mailboxes")}
        with engine.connect() as connection:
            assert connection.execute(text("SELECT partner_id, files_fetched FROM mailboxes")).all() == [("acme", 7)]
    finally:
        engine.dispose()
