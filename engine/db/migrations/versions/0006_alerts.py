"""Alerts: what a person is told about, each recorded once with its delivery per channel; when
alerts started; and since when a mailbox has been failing.

Revision ID: 0006
Revises: 0005
Created: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)  # always UTC
DELIVERY = ("pending", "sent", "failed", "skipped")


def one_of(column: str, *values: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_alerts_{column}"))


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("email_status", sa.String(), nullable=False),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("email_next_attempt_at", TIME, nullable=True),
        sa.Column("email_sent_at", TIME, nullable=True),
        sa.Column("email_last_error", sa.String(), nullable=True),
        sa.Column("webhook_status", sa.String(), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column("webhook_next_attempt_at", TIME, nullable=True),
        sa.Column("webhook_sent_at", TIME, nullable=True),
        sa.Column("webhook_last_error", sa.String(), nullable=True),
        one_of(
            "kind",
            "retailer_cancel",
            "retailer_change",
            "rejected_997",
            "overdue_997",
            "quarantine",
            "mailbox_failing",
            "certificate",
        ),
        one_of("email_status", *DELIVERY),
        one_of("webhook_status", *DELIVERY),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_alerts_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_alerts_key")),
    )
    op.create_index("ix_alerts_email_status_email_next_attempt_at", "alerts", ["email_status", "email_next_attempt_at"])
    op.create_index(
        "ix_alerts_webhook_status_webhook_next_attempt_at", "alerts", ["webhook_status", "webhook_next_attempt_at"]
    )
    op.create_table(
        "alert_start",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("baseline", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_start")),
    )
    # Batch mode, as 0002: SQLite before 3.35 cannot drop the column again in place.
    with op.batch_alter_table("mailboxes") as batch:
        batch.add_column(sa.Column("failing_since", TIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("failing_since")
    op.drop_table("alert_start")
    op.drop_index("ix_alerts_webhook_status_webhook_next_attempt_at", table_name="alerts")
    op.drop_index("ix_alerts_email_status_email_next_attempt_at", table_name="alerts")
    op.drop_table("alerts")
