"""Portal: partners' organisations, order counters by status, users, sessions and login attempts.

Revision ID: 0007
Revises: 0006
Created: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)  # always UTC
ORDER_STATUSES = ("new", "acknowledged", "backordered", "partially_shipped", "shipped", "cancelled",
                  "retailer_cancel_pending")  # fmt: skip


def upgrade() -> None:
    # Plain ALTER TABLE: a batch (copy and rename) of partners would trip the foreign keys that
    # every other table holds to it. SQLite adds and (from 3.35) drops a column in place.
    op.add_column("partners", sa.Column("organisation_id", sa.String(), nullable=True))
    op.create_index("ix_partners_organisation_id", "partners", ["organisation_id"])
    allowed = ", ".join(f"'{status}'" for status in ORDER_STATUSES)
    op.create_table(
        "order_counters",
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"status IN ({allowed})", name=op.f("ck_order_counters_status")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_order_counters_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("partner_id", "test", "status", name=op.f("pk_order_counters")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("organisation_id", sa.String(), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("api_token_hash", sa.String(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("disabled_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("api_token_hash", name=op.f("uq_users_api_token_hash")),
    )
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_portal_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
    )
    op.create_index("ix_portal_sessions_user_id", "portal_sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("window_started_at", TIME, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", TIME, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")),
    )


def downgrade() -> None:
    op.drop_table("login_attempts")
    op.drop_index("ix_portal_sessions_user_id", table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_table("users")
    op.drop_table("order_counters")
    op.drop_index("ix_partners_organisation_id", table_name="partners")
    op.drop_column("partners", "organisation_id")
