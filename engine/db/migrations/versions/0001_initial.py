"""The first schema: partners, interchanges and their sets, quarantine, orders with lines and events,
outbound documents and control counters.

Revision ID: 0001
Revises:
Created: 2025-01-01

Written out by hand (not generated at run time) so that it stays what it was when it shipped,
whatever the tables in ``engine/db/tables.py`` become; the allowed values of each status column
are spelled out for the same reason. ``tests/test_db_migrations.py`` checks that this revision
builds exactly the tables the code maps.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric(18, 4)  # quantities and money
TIME = sa.DateTime(timezone=True)  # always UTC


def one_of(table: str, column: str, *values: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    # op.f: the name is final, not to be run through the tables' naming convention again.
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("profile_hash", sa.String(), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partners"),
        one_of("partners", "role", "retailer", "supplier"),
    )

    op.create_table(
        "control_counters",
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("receiver", sa.String(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("level", "sender", "receiver", name="pk_control_counters"),
        one_of("control_counters", "level", "interchange", "group", "set"),
    )

    op.create_table(
        "interchanges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=True),
        sa.Column("receiver", sa.String(), nullable=True),
        sa.Column("control_number", sa.String(), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("committed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_interchanges"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_interchanges_partner_id_partners"),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["interchanges.id"], name="fk_interchanges_duplicate_of_id_interchanges"
        ),
        one_of("interchanges", "direction", "inbound", "outbound"),
        one_of("interchanges", "status", "received", "committed", "duplicate", "rejected"),
    )
    # The duplicate key holds among committed interchanges only: a file archived but never
    # committed is processed normally when it comes again.
    op.create_index(
        "uq_interchanges_committed_sender_sha256",
        "interchanges",
        ["sender", "sha256"],
        unique=True,
        sqlite_where=sa.text("status = 'committed'"),
        postgresql_where=sa.text("status = 'committed'"),
    )
    op.create_index("ix_interchanges_sender_sha256", "interchanges", ["sender", "sha256"])
    op.create_index("ix_interchanges_sender_control_number", "interchanges", ["sender", "control_number"])
    op.create_index("ix_interchanges_status", "interchanges", ["status"])

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("po_number", sa.String(), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("ship_by_date", sa.Date(), nullable=True),
        sa.Column("retailer", sa.String(), nullable=True),
        sa.Column("total", AMOUNT, nullable=True),
        sa.Column("ordered_qty", AMOUNT, nullable=False),
        sa.Column("open_qty", AMOUNT, nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_orders_partner_id_partners"),
        sa.UniqueConstraint("partner_id", "po_number", "test", name="uq_orders_partner_id_po_number_test"),
        one_of(
            "orders",
            "status",
            "new",
            "acknowledged",
            "backordered",
            "partially_shipped",
            "shipped",
            "cancelled",
            "retailer_cancel_pending",
        ),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_po_number", "orders", ["po_number"])

    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line_number", sa.String(), nullable=False),
        sa.Column("ordered_qty", AMOUNT, nullable=False),
        sa.Column("cancelled_qty", AMOUNT, nullable=False),
        sa.Column("backordered_qty", AMOUNT, nullable=False),
        sa.Column("shipped_qty", AMOUNT, nullable=False),
        sa.Column("pending_cancel_qty", AMOUNT, nullable=False),
        sa.Column("open_qty", AMOUNT, nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_lines"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_lines_order_id_orders", ondelete="CASCADE"),
        sa.UniqueConstraint("order_id", "position", name="uq_order_lines_order_id_position"),
        one_of(
            "order_lines",
            "status",
            "open",
            "backordered",
            "partially_shipped",
            "shipped",
            "cancelled",
            "cancel_pending",
        ),
    )

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor_kind", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("document_id", sa.String(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_events_order_id_orders", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("order_id", "position", name="uq_order_events_order_id_position"),
        one_of(
            "order_events",
            "kind",
            "received",
            "duplicate_received",
            "replaced",
            "acknowledged",
            "items_cancelled",
            "backordered",
            "shipped",
            "retailer_cancel_requested",
            "retailer_cancel_acknowledged",
            "retailer_cancel_refused",
            "change_requested",
            "change_accepted",
            "change_rejected",
            "partner_acknowledged",
            "partner_shipped",
        ),
        one_of("order_events", "actor_kind", "supplier_user", "retailer_document", "partner_document", "engine"),
    )
    op.create_index("ix_order_events_document_id", "order_events", ["document_id"])

    op.create_table(
        "transaction_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interchange_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("group_control_number", sa.String(), nullable=True),
        sa.Column("set_control_number", sa.String(), nullable=True),
        sa.Column("set_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_transaction_sets"),
        sa.ForeignKeyConstraint(
            ["interchange_id"],
            ["interchanges.id"],
            name="fk_transaction_sets_interchange_id_interchanges",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_transaction_sets_order_id_orders", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("interchange_id", "position", name="uq_transaction_sets_interchange_id_position"),
        one_of("transaction_sets", "status", "accepted", "rejected", "quarantined"),
    )

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interchange_id", sa.Integer(), nullable=False),
        sa.Column("transaction_set_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("released_at", TIME, nullable=True),
        sa.Column("released_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.ForeignKeyConstraint(
            ["interchange_id"],
            ["interchanges.id"],
            name="fk_quarantine_interchange_id_interchanges",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_set_id"],
            ["transaction_sets.id"],
            name="fk_quarantine_transaction_set_id_transaction_sets",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_quarantine_interchange_id", "quarantine", ["interchange_id"])

    op.create_table(
        "outbound_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("cause_key", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=True),
        sa.Column("receiver", sa.String(), nullable=True),
        sa.Column("interchange_control_number", sa.Integer(), nullable=True),
        sa.Column("group_control_number", sa.Integer(), nullable=True),
        sa.Column("set_control_number", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("interchange_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("due_at", TIME, nullable=True),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("ack_result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbound_documents"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_outbound_documents_partner_id_partners"),
        sa.ForeignKeyConstraint(
            ["interchange_id"],
            ["interchanges.id"],
            name="fk_outbound_documents_interchange_id_interchanges",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_outbound_documents_order_id_orders", ondelete="SET NULL"
        ),
        # One cause, one document.
        sa.UniqueConstraint("cause_key", name="uq_outbound_documents_cause_key"),
        one_of("outbound_documents", "kind", "997", "999", "TA1", "855", "865", "856"),
        one_of("outbound_documents", "status", "pending", "sent", "accepted", "rejected", "overdue"),
    )
    op.create_index(
        "ix_outbound_documents_partner_id_group_control_number",
        "outbound_documents",
        ["partner_id", "group_control_number"],
    )
    op.create_index("ix_outbound_documents_status_due_at", "outbound_documents", ["status", "due_at"])


def downgrade() -> None:
    for table in (
        "outbound_documents",
        "quarantine",
        "transaction_sets",
        "order_events",
        "order_lines",
        "orders",
        "interchanges",
        "control_counters",
        "partners",
    ):
        op.drop_table(table)  # a table's indexes go with it
