"""events/retention.py: the log keeps its newest entries, and always the newest one."""

from __future__ import annotations

from sqlalchemy import select

from execution.v1 import execution_pb2 as pb

from execution_server.events.retention import LogRetention
from execution_server.store import tables as t
from tests.harness import Client


async def _sequences(client: Client) -> list[int]:
    async with client.app.engine.connect() as conn:
        rows = await conn.execute(select(t.order_events.c.sequence).order_by(t.order_events.c.sequence))
        return [row.sequence for row in rows]


async def test_a_trim_keeps_the_newest_entries_and_never_the_newest_one(client: Client) -> None:
    # Limit orders far below the price: they rest, so no event commits behind the test's back.
    for n in range(3):
        order = await client.place(client_order_id=f"r-{n}", order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
        assert order.status == pb.ORDER_STATUS_SUBMITTED
    last = (await _sequences(client))[-1]
    assert last >= 6

    await LogRetention(client.app.writer, keep=3).trim()
    assert await _sequences(client) == [last - 2, last - 1, last]

    await LogRetention(client.app.writer, keep=0).trim()
    assert await _sequences(client) == [last]
