"""order_events.payload: each update's wire bytes, encoded once when written

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: entries written before this revision are encoded from their columns on read.
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_column("payload")
