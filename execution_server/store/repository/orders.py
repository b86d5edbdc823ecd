"""The orders table: batch writes, look-ups by each id, the open ones, pages of a listing."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from execution_server.domain.orders import Order, OrderStatus
from execution_server.store import bulk
from execution_server.store import tables as t
from execution_server.store.codec import order_from_row, order_to_row


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


# Batch writes: one executemany per table for a whole group commit (store/transaction.py),
# added to the batch's statements (store/bulk.py: on SQLite one call to the driver for all).


def insert_orders(statements: bulk.Statements, orders: Sequence[tuple[Order, int]]) -> None:
    """New orders, each with its position (the sequence of its "placed" event)."""
    statements.add(_INSERT_ORDER, [order_to_row(order, position) for order, position in orders])


def update_orders(statements: bulk.Statements, orders: Sequence[Order]) -> None:
    statements.add(_UPDATE_ORDER, [_update_values(order) for order in orders])


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
    strategies: Collection[str] | None = None,
) -> list[tuple[int, Order]]:
    """A page of orders in a stable order (oldest first), after a position cursor; with
    `strategies`, only theirs (a strategy token's), whatever `strategy_id` says."""
    conditions = [t.orders.c.position > after_position]
    if strategy_id:
        conditions.append(t.orders.c.strategy_id == strategy_id)
    if strategies is not None:
        conditions.append(t.orders.c.strategy_id.in_(sorted(strategies)))
    if symbol:
        conditions.append(t.orders.c.symbol == symbol)
    if statuses:
        conditions.append(t.orders.c.status.in_([status.value for status in statuses]))
    query = select(t.orders).where(and_(*conditions)).order_by(t.orders.c.position).limit(limit)
    rows = (await conn.execute(query)).mappings().all()
    return [(row["position"], order_from_row(row)) for row in rows]
