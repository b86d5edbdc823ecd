"""Queries and writes, as plain functions over an async connection (SQLAlchemy Core, no ORM)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from execution_server.domain.events import Fill, OrderUpdate
from execution_server.domain.orders import Order, OrderStatus, Side
from execution_server.store import bulk
from execution_server.store import tables as t
from execution_server.store.codec import order_from_json, order_from_row, order_to_json, order_to_row


@dataclass(frozen=True, slots=True)
class StoredPosition:
    strategy_id: str
    symbol: str
    quantity: Decimal
    average_entry_price: Decimal | None
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class StoredKillSwitch:
    engaged: bool
    reason: str
    reduce_only: bool
    changed_at: datetime


# --- orders ---
# The hot-path statements are built once with bind parameters: SQLAlchemy then reuses their
# compiled form instead of building and hashing a new statement for every order.

_INSERT_ORDER = insert(t.orders)
_UPDATE_ORDER = (
    update(t.orders)
    .where(t.orders.c.order_id == bindparam("key_order_id"))
    .values({column.name: bindparam(column.name) for column in t.orders.c if column.name not in ("order_id", "position")})
)
_ORDER_BY_ID = select(t.orders).where(t.orders.c.order_id == bindparam("order_id"))
_ORDER_BY_CLIENT_ID = select(t.orders).where(t.orders.c.client_order_id == bindparam("client_order_id"))
_INSERT_FILL = insert(t.fills)
_INSERT_EVENT = insert(t.order_events)
_FILL_EXISTS = select(t.fills.c.execution_id).where(t.fills.c.execution_id == bindparam("execution_id"))


# Batch writes: one executemany per table for a whole group commit (store/transaction.py),
# through store/bulk.py: on SQLite a single call to the driver each.


async def insert_orders(conn: AsyncConnection, orders: Sequence[tuple[Order, int]]) -> None:
    """New orders, each with its position (the sequence of its "placed" event)."""
    await bulk.executemany(conn, _INSERT_ORDER, [order_to_row(order, position) for order, position in orders])


async def update_orders(conn: AsyncConnection, orders: Sequence[Order]) -> None:
    await bulk.executemany(conn, _UPDATE_ORDER, [_update_values(order) for order in orders])


def _update_values(order: Order) -> dict[str, object]:
    values = order_to_row(order)
    values["key_order_id"] = values.pop("order_id")
    return values


async def get_order(conn: AsyncConnection, order_id: str) -> Order | None:
    row = (await conn.execute(_ORDER_BY_ID, {"order_id": order_id})).mappings().first()
    return order_from_row(row) if row else None


async def get_order_by_client_id(conn: AsyncConnection, client_order_id: str) -> Order | None:
    row = (await conn.execute(_ORDER_BY_CLIENT_ID, {"client_order_id": client_order_id})).mappings().first()
    return order_from_row(row) if row else None


async def get_order_by_broker_id(conn: AsyncConnection, broker_order_id: str) -> Order | None:
    query = select(t.orders).where(t.orders.c.broker_order_id == broker_order_id)
    row = (await conn.execute(query)).mappings().first()
    return order_from_row(row) if row else None


async def holders_of_broker_ids(conn: AsyncConnection, broker_order_ids: list[str]) -> dict[str, str]:
    """broker order id → the order id holding it, for those of `broker_order_ids` that are held:
    one statement for a whole batch's acknowledgements."""
    if not broker_order_ids:
        return {}
    query = select(t.orders.c.broker_order_id, t.orders.c.order_id).where(t.orders.c.broker_order_id.in_(broker_order_ids))
    return {row.broker_order_id: row.order_id for row in await conn.execute(query)}


async def open_orders(conn: AsyncConnection) -> list[Order]:
    """Only open orders, through the (is_open, position) index: start-up cost does not grow with history."""
    query = select(t.orders).where(t.orders.c.is_open.is_(True)).order_by(t.orders.c.position)
    return [order_from_row(row) for row in (await conn.execute(query)).mappings()]


async def list_orders(
    conn: AsyncConnection,
    *,
    strategy_id: str = "",
    symbol: str = "",
    statuses: Sequence[OrderStatus] = (),
    after_position: int = 0,
    limit: int = 100,
) -> list[tuple[int, Order]]:
    """A page of orders in a stable order (oldest first), after a position cursor."""
    conditions = [t.orders.c.position > after_position]
    if strategy_id:
        conditions.append(t.orders.c.strategy_id == strategy_id)
    if symbol:
        conditions.append(t.orders.c.symbol == symbol)
    if statuses:
        conditions.append(t.orders.c.status.in_([status.value for status in statuses]))
    query = select(t.orders).where(and_(*conditions)).order_by(t.orders.c.position).limit(limit)
    rows = (await conn.execute(query)).mappings().all()
    return [(row["position"], order_from_row(row)) for row in rows]


# --- fills ---


async def fill_exists(conn: AsyncConnection, execution_id: str) -> bool:
    return (await conn.execute(_FILL_EXISTS, {"execution_id": execution_id})).first() is not None


async def insert_fills(conn: AsyncConnection, fills: Sequence[tuple[Fill, int]]) -> None:
    """Fills, each with the sequence of its "fill" event."""
    rows = [
        {
            "execution_id": fill.execution_id,
            "order_id": fill.order_id,
            "quantity": fill.quantity,
            "price": fill.price,
            "time": fill.time,
            "sequence": sequence,
        }
        for fill, sequence in fills
    ]
    await bulk.executemany(conn, _INSERT_FILL, rows)


async def execution_ids_of_open_orders(conn: AsyncConnection) -> dict[str, list[str]]:
    """order id -> the execution ids of its fills, for every open order that has fills."""
    query = (
        select(t.fills.c.order_id, t.fills.c.execution_id)
        .join(t.orders, t.orders.c.order_id == t.fills.c.order_id)
        .where(t.orders.c.is_open.is_(True))
    )
    found: dict[str, list[str]] = {}
    for row in await conn.execute(query):
        found.setdefault(row.order_id, []).append(row.execution_id)
    return found


async def fills_of(conn: AsyncConnection, order_id: str) -> list[Fill]:
    query = select(t.fills).where(t.fills.c.order_id == order_id).order_by(t.fills.c.sequence)
    return [
        Fill(row["execution_id"], row["order_id"], row["quantity"], row["price"], row["time"])
        for row in (await conn.execute(query)).mappings()
    ]


# --- the event log ---


async def insert_events(
    conn: AsyncConnection, updates: Sequence[OrderUpdate], payloads: Sequence[bytes | None] | None = None
) -> None:
    payloads = payloads if payloads is not None else [None] * len(updates)
    rows = [
        {
            "sequence": update.sequence,
            "event_type": update.event_type,
            "order_id": update.order.order_id if update.order else None,
            "strategy_id": update.strategy_id,
            "symbol": update.symbol,
            "order_snapshot": order_to_json(update.order) if update.order else None,
            "execution_id": update.fill.execution_id if update.fill else None,
            "fill_quantity": update.fill.quantity if update.fill else None,
            "fill_price": update.fill.price if update.fill else None,
            "fill_time": update.fill.time if update.fill else None,
            "detail": update.detail,
            "time": update.time,
            "payload": payload,
        }
        for update, payload in zip(updates, payloads, strict=True)
    ]
    await bulk.executemany(conn, _INSERT_EVENT, rows)


async def events_after(conn: AsyncConnection, after_sequence: int, up_to: int, limit: int) -> list[OrderUpdate]:
    query = (
        select(t.order_events)
        .where(t.order_events.c.sequence > after_sequence, t.order_events.c.sequence <= up_to)
        .order_by(t.order_events.c.sequence)
        .limit(limit)
    )
    return [_update_from_row(row) for row in (await conn.execute(query)).mappings()]


_ENTRIES_AFTER = (
    select(t.order_events.c.sequence, t.order_events.c.strategy_id, t.order_events.c.symbol, t.order_events.c.payload)
    .where(t.order_events.c.sequence > bindparam("after"), t.order_events.c.sequence <= bindparam("up_to"))
    .order_by(t.order_events.c.sequence)
    .limit(bindparam("limit"))
)


async def encoded_events_after(
    conn: AsyncConnection, after_sequence: int, up_to: int, limit: int
) -> list[tuple[int, str, str, bytes | None]]:
    """(sequence, strategy, symbol, wire bytes) of a page of the log; the bytes are None for
    entries written before payloads were stored."""
    rows = await conn.execute(_ENTRIES_AFTER, {"after": after_sequence, "up_to": up_to, "limit": limit})
    return [(row.sequence, row.strategy_id, row.symbol, row.payload) for row in rows]


def _update_from_row(row: dict) -> OrderUpdate:  # type: ignore[type-arg]
    order = order_from_json(row["order_snapshot"]) if row["order_snapshot"] else None
    fill = None
    if row["execution_id"]:
        fill = Fill(row["execution_id"], row["order_id"], row["fill_quantity"], row["fill_price"], row["fill_time"])
    return OrderUpdate(
        sequence=row["sequence"],
        event_type=row["event_type"],
        strategy_id=row["strategy_id"],
        symbol=row["symbol"],
        time=row["time"],
        order=order,
        fill=fill,
        detail=row["detail"] or "",
    )


async def max_sequence(conn: AsyncConnection) -> int:
    """The last sequence handed out. The log may have been trimmed, so the orders' and fills'
    own copies of it count too: a sequence is never reused."""
    highest = 0
    for column in (t.order_events.c.sequence, t.orders.c.position, t.fills.c.sequence):
        highest = max(highest, int((await conn.execute(select(func.max(column)))).scalar() or 0))
    return highest


async def min_sequence(conn: AsyncConnection) -> int | None:
    value = (await conn.execute(select(func.min(t.order_events.c.sequence)))).scalar()
    return int(value) if value is not None else None


async def has_event(conn: AsyncConnection, sequence: int) -> bool:
    query = select(t.order_events.c.sequence).where(t.order_events.c.sequence == sequence)
    return (await conn.execute(query)).first() is not None


async def trim_events(conn: AsyncConnection, keep_after: int) -> None:
    """Retention: delete log entries at or below a sequence (orders and fills stay)."""
    await conn.execute(delete(t.order_events).where(t.order_events.c.sequence <= keep_after))


# --- positions ---


async def load_positions(conn: AsyncConnection) -> list[StoredPosition]:
    rows = (await conn.execute(select(t.positions))).mappings()
    return [
        StoredPosition(r["strategy_id"], r["symbol"], r["quantity"], r["average_entry_price"], r["realized_pnl"])
        for r in rows
    ]


async def save_positions(conn: AsyncConnection, positions: Sequence[StoredPosition], at: datetime) -> None:
    """Insert or overwrite positions by (strategy, symbol), in one statement."""
    if not positions:
        return
    rows = [
        {
            "strategy_id": position.strategy_id,
            "symbol": position.symbol,
            "quantity": position.quantity,
            "average_entry_price": position.average_entry_price,
            "realized_pnl": position.realized_pnl,
            "updated_at": at,
        }
        for position in positions
    ]
    await bulk.executemany(conn, _upsert_position(conn.dialect.name), rows)


def _upsert_position(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (strategy_id, symbol) DO UPDATE, which both SQLite and PostgreSQL
    speak, each through its own dialect's construct."""
    if dialect not in _UPSERT_POSITION:
        make = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
        statement = make(t.positions)
        changed = {name: statement.excluded[name] for name in ("quantity", "average_entry_price", "realized_pnl", "updated_at")}
        _UPSERT_POSITION[dialect] = statement.on_conflict_do_update(index_elements=["strategy_id", "symbol"], set_=changed)
    return _UPSERT_POSITION[dialect]


_UPSERT_POSITION: dict[str, Insert] = {}


# --- risk state ---

KILL_SWITCH_KEY = "kill_switch"


async def load_kill_switch(conn: AsyncConnection) -> StoredKillSwitch | None:
    query = select(t.risk_state).where(t.risk_state.c.key == KILL_SWITCH_KEY)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return StoredKillSwitch(bool(row["engaged"]), row["reason"], bool(row["reduce_only"]), row["changed_at"])


async def save_kill_switch(conn: AsyncConnection, state: StoredKillSwitch) -> None:
    values = {
        "engaged": state.engaged,
        "reason": state.reason,
        "reduce_only": state.reduce_only,
        "changed_at": state.changed_at,
    }
    key = t.risk_state.c.key == KILL_SWITCH_KEY
    result = await conn.execute(update(t.risk_state).where(key).values(values))
    if result.rowcount == 0:
        await conn.execute(insert(t.risk_state).values(key=KILL_SWITCH_KEY, **values))


async def load_day_openings(conn: AsyncConnection, day: date) -> dict[str, Decimal]:
    query = select(t.day_openings.c.strategy_id, t.day_openings.c.opening_value).where(t.day_openings.c.day == day)
    return {row.strategy_id: row.opening_value for row in await conn.execute(query)}


async def load_day_opening_costs(conn: AsyncConnection, day: date) -> dict[str, Decimal]:
    """The opening costs saved for the day; none for rows saved before they were kept."""
    columns = t.day_openings.c
    query = select(columns.strategy_id, columns.opening_cost).where(columns.day == day, columns.opening_cost.is_not(None))
    return {row.strategy_id: row.opening_cost for row in await conn.execute(query)}


async def save_day_openings(
    conn: AsyncConnection, day: date, openings: Mapping[str, Decimal], costs: Mapping[str, Decimal] | None = None
) -> None:
    """The day's opening values and costs, replacing whatever was saved for the day. A strategy
    missing from one mapping has zero there."""
    await conn.execute(delete(t.day_openings).where(t.day_openings.c.day == day))
    costs = costs or {}
    zero = Decimal(0)
    rows = [
        {"day": day, "strategy_id": strategy_id, "opening_value": openings.get(strategy_id, zero),
         "opening_cost": costs.get(strategy_id, zero)}
        for strategy_id in {*openings, *costs}
    ]
    if rows:
        await conn.execute(insert(t.day_openings), rows)


async def load_reduce_only_releases(conn: AsyncConnection, day: date) -> set[str]:
    query = select(t.reduce_only_releases.c.strategy_id).where(t.reduce_only_releases.c.day == day)
    return set((await conn.execute(query)).scalars())


async def save_reduce_only_release(conn: AsyncConnection, day: date, strategy_id: str, at: datetime) -> None:
    """Idempotent: releasing a strategy already released that day changes nothing."""
    columns = t.reduce_only_releases.c
    found = await conn.execute(select(columns.strategy_id).where(columns.day == day, columns.strategy_id == strategy_id))
    if found.first() is None:
        await conn.execute(insert(t.reduce_only_releases).values(day=day, strategy_id=strategy_id, released_at=at))


async def day_cash(conn: AsyncConnection, since: datetime) -> dict[str, Decimal]:
    """Per strategy, the cash of the fills since `since`: sale proceeds minus purchase costs,
    in exact decimals (summed here, not by the database)."""
    query = (
        select(t.orders.c.strategy_id, t.orders.c.side, t.fills.c.quantity, t.fills.c.price)
        .join(t.orders, t.orders.c.order_id == t.fills.c.order_id)
        .where(t.fills.c.time >= since)
    )
    cash: dict[str, Decimal] = {}
    for row in await conn.execute(query):
        cash[row.strategy_id] = cash.get(row.strategy_id, Decimal(0)) - Side(row.side).sign * row.quantity * row.price
    return cash


# --- reconciliation runs ---


async def insert_reconcile_run(
    conn: AsyncConnection, *, checked_at: datetime, trigger: str, repair: bool, has_discrepancies: bool, result: str
) -> int:
    inserted = await conn.execute(
        insert(t.reconcile_runs)
        .values(checked_at=checked_at, trigger=trigger, repair=repair, has_discrepancies=has_discrepancies, result=result)
        .returning(t.reconcile_runs.c.run_id)
    )
    return int(inserted.scalar_one())


async def complete_reconcile_run(conn: AsyncConnection, run_id: int, *, has_discrepancies: bool, result: str) -> None:
    await conn.execute(
        update(t.reconcile_runs)
        .where(t.reconcile_runs.c.run_id == run_id)
        .values(has_discrepancies=has_discrepancies, result=result)
    )


async def recent_reconcile_runs(conn: AsyncConnection, limit: int) -> list[dict]:  # type: ignore[type-arg]
    query = select(t.reconcile_runs).order_by(t.reconcile_runs.c.run_id.desc()).limit(limit)
    return [dict(row) for row in (await conn.execute(query)).mappings()]
