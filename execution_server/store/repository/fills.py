"""The fills table: executions by their id, and those of open orders read at start-up."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from execution_server.domain.events import Fill
from execution_server.store import bulk
from execution_server.store import tables as t


_INSERT_FILL = insert(t.fills)
_FILL_EXISTS = select(t.fills.c.execution_id).where(t.fills.c.execution_id == bindparam("execution_id"))


async def fill_exists(conn: AsyncConnection, execution_id: str) -> bool:
    return (await conn.execute(_FILL_EXISTS, {"execution_id": execution_id})).first() is not None


def insert_fills(statements: bulk.Statements, fills: Sequence[tuple[Fill, int]]) -> None:
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
    statements.add(_INSERT_FILL, rows)


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
