"""AS2 messages: every message sent or received over AS2, with its Message-ID and its MDN.

Revision ID: 0005
Revises: 0004
Created: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)  # always UTC


def one_of(column: str, *values: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_as2_messages_{column}"))


def upgrade() -> None:
    op.create_table(
        "as2_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("outbound_document_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("mic", sa.String(), nullable=True),
        sa.Column("mdn", sa.LargeBinary(), nullable=True),
        sa.Column("mdn_url", sa.String(), nullable=True),
        sa.Column("mdn_sent_at", TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        one_of("direction", "inbound", "outbound"),
        one_of("status", "sending", "delivered", "failed", "received", "refused"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_as2_messages_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["outbound_document_id"],
            ["outbound_documents.id"],
            name=op.f("fk_as2_messages_outbound_document_id_outbound_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_as2_messages")),
        sa.UniqueConstraint(
            "partner_id", "direction", "message_id", name=op.f("uq_as2_messages_partner_id_direction_message_id")
        ),
        sa.UniqueConstraint("outbound_document_id", name=op.f("uq_as2_messages_outbound_document_id")),
    )
    op.create_index("ix_as2_messages_status_next_attempt_at", "as2_messages", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_as2_messages_status_next_attempt_at", table_name="as2_messages")
    op.drop_table("as2_messages")
