"""The service's database outlives the simulated broker's state: a broker started afresh beside
an old database keeps trading, with broker ids and execution ids it never handed out before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from execution.v1 import execution_pb2 as pb
from execution_server.config import replace
from execution_server.store import tables
from execution_server.store.database import create_engine
from tests.harness import Client, running, settings_for
from tests.waiting import eventually


async def _place_filled_orders(client: Client, prefix: str, count: int) -> list[pb.Order]:
    filled = []
    for index in range(count):
        order = await client.place(client_order_id=f"{prefix}-{index}")
        assert order.status != pb.ORDER_STATUS_REJECTED, order.reject_reason
        filled.append(await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED))
    return filled


@pytest.mark.parametrize("fresh_state", ["a new file", "memory"])
async def test_a_fresh_simulator_beside_an_old_database_keeps_trading_with_fresh_ids(
    database_url: str, tmp_path: Path, fresh_state: str
) -> None:
    settings = settings_for(database_url, tmp_path)
    async with running(settings) as client:
        before = await _place_filled_orders(client, "before", 3)
    state = tmp_path / "elsewhere" / "simulator.jsonl" if fresh_state == "a new file" else None
    restarted = replace(settings, simulator=replace(settings.simulator, state_path=state))
    async with running(restarted) as client:
        after = await _place_filled_orders(client, "after", 3)
    fills = await _execution_ids(database_url)
    broker_ids = [order.broker_order_id for order in before + after]
    assert all(broker_ids) and len(set(broker_ids)) == 6
    assert [order.filled_quantity for order in after] == ["10"] * 3  # no fill taken for a duplicate
    assert len(fills) == len(set(fills)) == 6


async def _execution_ids(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(tables.fills.c.execution_id))).scalars())
    finally:
        await engine.dispose()
