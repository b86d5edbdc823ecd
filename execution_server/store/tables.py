"""The schema, as SQLAlchemy Core tables. Alembic migrations create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from execution_server.store.types import Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    # The order's place in history: the sequence of its "placed" event; lists sort by it.
    Column("position", BigInteger, nullable=False, unique=True),
    Column("client_order_id", String(128), nullable=False, unique=True),
    Column("broker_order_id", String(128), nullable=True, unique=True),
    Column("strategy_id", String(128), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("time_in_force", String(8), nullable=False),
    Column("quantity", Money, nullable=False),
    Column("limit_price", Money, nullable=True),
    Column("stop_price", Money, nullable=True),
    Column("status", String(24), nullable=False),
    # Denormalised so that start-up reads only open orders through an index, however long the history.
    Column("is_open", Boolean, nullable=False),
    Column("filled_quantity", Money, nullable=False),
    Column("average_fill_price", Money, nullable=True),
    Column("broker_status", String(32), nullable=False, default=""),
    Column("reject_reason", Text, nullable=False, default=""),
    Column("cancel_reason", Text, nullable=False, default=""),
    Column("in_flight", Boolean, nullable=False, default=False),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_orders_open", "is_open", "position"),
    Index("ix_orders_strategy", "strategy_id", "position"),
    Index("ix_orders_symbol", "symbol", "position"),
)

fills = Table(
    "fills",
    metadata,
    # A fill applied twice is applied once: the broker's execution id is the key.
    Column("execution_id", String(128), primary_key=True),
    Column("order_id", String(64), ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("quantity", Money, nullable=False),
    Column("price", Money, nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    # Start-up reads the day's fills (the day's P&L), however long the history.
    Index("ix_fills_time", "time"),
)

order_events = Table(
    "order_events",
    metadata,
    # The transactional outbox: written in the same transaction as the change it describes.
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("event_type", String(32), nullable=False),
    Column("order_id", String(64), nullable=True),
    Column("strategy_id", String(128), nullable=False),
    Column("symbol", String(32), nullable=False),
    # The order as it is after this change, as JSON (decimal strings): replay needs no joins.
    Column("order_snapshot", Text, nullable=True),
    Column("execution_id", String(128), nullable=True),
    Column("fill_quantity", Money, nullable=True),
    Column("fill_price", Money, nullable=True),
    Column("fill_time", UtcDateTime, nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Column("time", UtcDateTime, nullable=False),
    # The update as streamed (StreamOrderUpdatesResponse bytes), encoded once when written:
    # a catching-up reader sends these bytes without decoding or encoding anything.
    Column("payload", LargeBinary, nullable=True),
)

positions = Table(
    "positions",
    metadata,
    # strategy_id "" holds the account's total, computed from the account-level fill sequence.
    Column("strategy_id", String(128), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("quantity", Money, nullable=False),
    Column("average_entry_price", Money, nullable=True),
    Column("realized_pnl", Money, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

risk_state = Table(
    "risk_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("engaged", Boolean, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("reduce_only", Boolean, nullable=False, default=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

# What each strategy's P&L of a UTC day is measured from (its positions at the marks when the
# day started, moved by repairs): a restart resumes the day's P&L instead of starting at zero.
day_openings = Table(
    "day_openings",
    metadata,
    Column("day", Date, primary_key=True),
    Column("strategy_id", String(128), primary_key=True),
    Column("opening_value", Money, nullable=False),
    # Σ quantity × average price of its positions when the day started, moved by repairs: with
    # the cash of the day's fills and the cost basis now, the day's realised P&L. Null in rows
    # saved before revision 0004 (their day's realised P&L is not resumed).
    Column("opening_cost", Money, nullable=True),
)

# Strategies an operator let out of reduce-only for the rest of a UTC day, after their daily
# loss limit tripped: a restart must not trip them again.
reduce_only_releases = Table(
    "reduce_only_releases",
    metadata,
    Column("day", Date, primary_key=True),
    Column("strategy_id", String(128), primary_key=True),
    Column("released_at", UtcDateTime, nullable=False),
)

reconcile_runs = Table(
    "reconcile_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("repair", Boolean, nullable=False),
    Column("has_discrepancies", Boolean, nullable=False),
    # The discrepancies found (and those left after repair) as JSON.
    Column("result", Text, nullable=False),
)

# The audit trail: every operator action (the kill switch, the simulator's controls, a repair
# asked for), who did it (the token's name, never the token), when, and what it did as JSON of
# bounded size. Written in the same transaction as the change it describes where there is one.
operator_actions = Table(
    "operator_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("details", Text, nullable=False),
)
