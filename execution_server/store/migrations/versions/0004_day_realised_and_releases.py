"""day_openings.opening_cost: what the day's realised P&L is measured from; reduce_only_releases:
an operator's release from reduce-only, kept over restarts for the rest of the day

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import execution_server.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a day begun before this revision has no opening cost, and its realised P&L is
    # not resumed rather than resumed wrong.
    with op.batch_alter_table("day_openings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening_cost", execution_server.store.types.Money(), nullable=True))
    op.create_table(
        "reduce_only_releases",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("strategy_id", sa.String(length=128), nullable=False),
        sa.Column("released_at", execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "strategy_id", name=op.f("pk_reduce_only_releases")),
    )


def downgrade() -> None:
    op.drop_table("reduce_only_releases")
    with op.batch_alter_table("day_openings", schema=None) as batch_op:
        batch_op.drop_column("opening_cost")
