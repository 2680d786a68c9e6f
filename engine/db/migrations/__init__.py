"""Alembic migrations of the engine's database; run them with ``engine.db.migrate.upgrade``."""
