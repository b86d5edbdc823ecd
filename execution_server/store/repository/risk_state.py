"""Risk state that survives a restart: the kill switch, the day's openings and releases, the day's fill cash."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from execution_server.domain.orders import Side
from execution_server.store import tables as t
from execution_server.store.repository.records import StoredKillSwitch


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
