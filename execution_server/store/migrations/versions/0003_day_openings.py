"""day_openings: what each strategy's P&L of the day is measured from, kept over restarts;
fills by time, for the day's fills read at start-up

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import execution_server.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_openings",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("strategy_id", sa.String(length=128), nullable=False),
        sa.Column("opening_value", execution_server.store.types.Money(), nullable=False),
        sa.PrimaryKeyConstraint("day", "strategy_id", name=op.f("pk_day_openings")),
    )
    op.create_index("ix_fills_time", "fills", ["time"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_fills_time", table_name="fills")
    op.drop_table("day_openings")
