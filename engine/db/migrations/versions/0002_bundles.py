"""Bundles: documents sent together in one interchange point at the document that carries them.

Revision ID: 0002
Revises: 0001
Created: 2026-12-04

A partner whose profile sends many sets per interchange gets one file for a run's documents of
one kind: that file is an ``outbound_documents`` row of its own (the carrier), and each document
inside it keeps its row (its cause, order, ST02 and status) with ``bundle_id`` naming the carrier.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_outbound_documents_bundle_id_outbound_documents"
INDEX = "ix_outbound_documents_bundle_id"


def upgrade() -> None:
    # Batch mode: SQLite cannot add a named foreign key to a table in place, so it copies the table.
    with op.batch_alter_table("outbound_documents") as batch:
        batch.add_column(sa.Column("bundle_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(FOREIGN_KEY, "outbound_documents", ["bundle_id"], ["id"], ondelete="CASCADE")
        batch.create_index(INDEX, ["bundle_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbound_documents") as batch:
        batch.drop_index(INDEX)
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch.drop_column("bundle_id")
