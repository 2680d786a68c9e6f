"""Schema migrations (Alembic, in ``engine/db/migrations``), run from code: ``upgrade(url)``.

There is no alembic.ini: the configuration is built here from the database URL, and the
migration environment opens the database with ``make_engine``, so migrations run with the same
SQLite pragmas and PostgreSQL driver as the engine. From a shell::

    python -m engine.db.migrate upgrade [URL]
    python -m engine.db.migrate revision "what changed" [URL]   # drafts a revision from the tables
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Engine

from engine.db.session import database_url, make_engine, normalise_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

Action = Callable[[Config], object]


def alembic_config(url: str | URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser reads % as interpolation; a password may contain one.
    rendered = normalise_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: the configured one) up to ``revision``, in one transaction."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str | URL | None = None, revision: str = "base") -> None:
    _run(url, lambda config: command.downgrade(config, revision))


def current_revision(url: str | URL | None = None) -> str | None:
    engine = make_engine(database_url() if url is None else url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _run(url: str | URL | None, action: Action) -> None:
    target = database_url() if url is None else url
    engine: Engine = make_engine(target)
    try:
        with engine.begin() as connection:
            config = alembic_config(target)
            config.attributes["connection"] = connection
            action(config)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.db.migrate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("upgrade", "downgrade", "current"):
        each = sub.add_parser(name)
        each.add_argument("url", nargs="?")
        if name != "current":
            each.add_argument("--to", default="head" if name == "upgrade" else "base")
    draft = sub.add_parser("revision")
    draft.add_argument("message")
    draft.add_argument("url", nargs="?")
    args = parser.parse_args(argv)
    if args.command == "upgrade":
        upgrade(args.url, args.to)
    elif args.command == "downgrade":
        downgrade(args.url, args.to)
    elif args.command == "current":
        print(current_revision(args.url) or "(empty)")
    else:
        _run(args.url, lambda config: command.revision(config, args.message, autogenerate=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
