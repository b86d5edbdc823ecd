"""The order event log: the sequenced outbox the streams read, written in the same transaction as the changes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from execution_server.domain.events import Fill, OrderUpdate
from execution_server.store import bulk
from execution_server.store import tables as t
from execution_server.store.codec import order_from_json, order_to_json


_INSERT_EVENT = insert(t.order_events)


def insert_events(
    statements: bulk.Statements, updates: Sequence[OrderUpdate], payloads: Sequence[bytes | None] | None = None
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
    statements.add(_INSERT_EVENT, rows)


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
