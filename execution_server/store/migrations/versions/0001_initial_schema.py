"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import execution_server.store.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_events',
    sa.Column('sequence', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('strategy_id', sa.String(length=128), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('order_snapshot', sa.Text(), nullable=True),
    sa.Column('execution_id', sa.String(length=128), nullable=True),
    sa.Column('fill_quantity', execution_server.store.types.Money(), nullable=True),
    sa.Column('fill_price', execution_server.store.types.Money(), nullable=True),
    sa.Column('fill_time', execution_server.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('time', execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_order_events'))
    )
    op.create_table('orders',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('client_order_id', sa.String(length=128), nullable=False),
    sa.Column('broker_order_id', sa.String(length=128), nullable=True),
    sa.Column('strategy_id', sa.String(length=128), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('time_in_force', sa.String(length=8), nullable=False),
    sa.Column('quantity', execution_server.store.types.Money(), nullable=False),
    sa.Column('limit_price', execution_server.store.types.Money(), nullable=True),
    sa.Column('stop_price', execution_server.store.types.Money(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('filled_quantity', execution_server.store.types.Money(), nullable=False),
    sa.Column('average_fill_price', execution_server.store.types.Money(), nullable=True),
    sa.Column('broker_status', sa.String(length=32), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('in_flight', sa.Boolean(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('created_at', execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_orders')),
    sa.UniqueConstraint('broker_order_id', name=op.f('uq_orders_broker_order_id')),
    sa.UniqueConstraint('client_order_id', name=op.f('uq_orders_client_order_id')),
    sa.UniqueConstraint('position', name=op.f('uq_orders_position'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_open', ['is_open', 'position'], unique=False)
        batch_op.create_index('ix_orders_strategy', ['strategy_id', 'position'], unique=False)
        batch_op.create_index('ix_orders_symbol', ['symbol', 'position'], unique=False)

    op.create_table('positions',
    sa.Column('strategy_id', sa.String(length=128), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('quantity', execution_server.store.types.Money(), nullable=False),
    sa.Column('average_entry_price', execution_server.store.types.Money(), nullable=True),
    sa.Column('realized_pnl', execution_server.store.types.Money(), nullable=False),
    sa.Column('updated_at', execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('strategy_id', 'symbol', name=op.f('pk_positions'))
    )
    op.create_table('reconcile_runs',
    sa.Column('run_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('checked_at', execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('repair', sa.Boolean(), nullable=False),
    sa.Column('has_discrepancies', sa.Boolean(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_reconcile_runs'))
    )
    op.create_table('risk_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('engaged', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reduce_only', sa.Boolean(), nullable=False),
    sa.Column('changed_at', execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_risk_state'))
    )
    op.create_table('fills',
    sa.Column('execution_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('quantity', execution_server.store.types.Money(), nullable=False),
    sa.Column('price', execution_server.store.types.Money(), nullable=False),
    sa.Column('time', execution_server.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name=op.f('fk_fills_order_id_orders')),
    sa.PrimaryKeyConstraint('execution_id', name=op.f('pk_fills'))
    )
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fills_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fills_order_id'))

    op.drop_table('fills')
    op.drop_table('risk_state')
    op.drop_table('reconcile_runs')
    op.drop_table('positions')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_symbol')
        batch_op.drop_index('ix_orders_strategy')
        batch_op.drop_index('ix_orders_open')

    op.drop_table('orders')
    op.drop_table('order_events')
