"""Purchase orders we send: an outbound document of kind 850, and an order event ``sent``.

Revision ID: 0003
Revises: 0002
Created: 2026-12-05

The ``kind`` columns of ``outbound_documents`` and ``order_events`` are checked against the
values the code knows; this revision replaces both CHECK constraints with ones that add the new
value. The lists are spelled out (as in 0001) so that the revision stays what it was when it
shipped. Batch mode: SQLite cannot change a CHECK constraint in place, so it copies the table
(rows included); PostgreSQL drops and adds the constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOUND_KINDS = ("997", "999", "TA1", "855", "865", "856")
EVENT_KINDS = (
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
)
#: What each table's ``kind`` allows before and after this revision (the enums' order, as
#: ``engine.db.tables.one_of`` writes them).
BEFORE = {"outbound_documents": OUTBOUND_KINDS, "order_events": EVENT_KINDS}
AFTER = {
    "outbound_documents": (*OUTBOUND_KINDS, "850"),
    "order_events": (*EVENT_KINDS[:13], "sent", *EVENT_KINDS[13:]),
}


def _replace_kind_checks(allowed: dict[str, tuple[str, ...]]) -> None:
    for table, values in allowed.items():
        name = f"ck_{table}_kind"
        listed = ", ".join(f"'{value}'" for value in values)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(name), type_="check")
            # op.f: the name is final, not to be run through the tables' naming convention again.
            batch.create_check_constraint(op.f(name), f"kind IN ({listed})")


def upgrade() -> None:
    _replace_kind_checks(AFTER)


def downgrade() -> None:
    _replace_kind_checks(BEFORE)
