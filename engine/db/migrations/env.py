"""Alembic's environment: the engine's tables, opened the way the engine opens them.

``engine.db.migrate`` passes a connection in ``config.attributes["connection"]``; without one
the configuration's ``sqlalchemy.url`` is opened with ``make_engine``. Offline mode writes SQL
for the URL's dialect.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from engine.db.session import make_engine
from engine.db.tables import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite alters a table by copying it; later revisions' batch operations need this.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as opened:
            run_with(opened)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
