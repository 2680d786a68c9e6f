"""Mailboxes: the lease that lets one worker at a time poll a partner's mailbox, and how its
polls went (for ``edi-engine status``).

Revision ID: 0004
Revises: 0003
Created: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)  # always UTC


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("last_poll_at", TIME, nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("last_error_at", TIME, nullable=True),
        sa.Column("files_fetched", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_mailboxes_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_mailboxes")),
    )


def downgrade() -> None:
    op.drop_table("mailboxes")
