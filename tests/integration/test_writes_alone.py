"""Orders one at a time on SQLite (synchronous NORMAL): each batch runs on the event loop's
thread (store/bulk.py, inline), sparing the trips to the driver's thread; with FULL never. Orders in company go to the driver's thread
and are batched, as before. Either way every order is kept with its fill and positions add up,
and what the service has written reads back the same after a restart."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.oms import service
from execution_server.store import bulk
from tests.harness import running, settings_for


@pytest.fixture
def inline_runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each batch asked to run inline: whether it did."""
    ran: list[bool] = []
    real = bulk.Statements._ran_inline

    def recorded(self: bulk.Statements, *args: object) -> bool:
        ran.append(real(self, *args))  # type: ignore[arg-type]
        return ran[-1]

    monkeypatch.setattr(bulk.Statements, "_ran_inline", recorded)
    return ran


async def test_orders_one_at_a_time_are_written_inline_and_orders_in_company_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline_runs: list[bool]
) -> None:
    monkeypatch.setattr(service, "ALONE_SECONDS", 3600.0)  # company, once seen, is remembered here
    sides = itertools.cycle((pb.SIDE_BUY, pb.SIDE_SELL))
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/alone.db", tmp_path)
    async with running(settings) as client:
        alone = [await client.place(side=next(sides)) for _ in range(4)]
        assert inline_runs and all(inline_runs)  # both batches of each order
        assert client.app.orders.alone

        # The first of a burst may find itself alone for its first batch; once calls overlap,
        # no batch runs inline while they keep coming.
        together = list(await asyncio.gather(*(client.place(side=next(sides)) for _ in range(8))))
        assert not client.app.orders.alone and client.app.orders.calls_in_flight == 0
        inline_runs.clear()
        together += await asyncio.gather(*(client.place(side=next(sides)) for _ in range(8)))
        together.append(await client.place(side=next(sides)))  # alone now, but company was recent
        assert inline_runs == []  # not even asked

    async with running(settings) as client:  # what was written, read back by a new process's state
        for order in [*alone, *together]:
            stored = await client.get(order.order_id)
            assert stored.status == pb.ORDER_STATUS_FILLED and stored.filled_quantity == "10"
        positions = await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id="momentum_v1"))
        assert [(p.symbol, p.quantity) for p in positions.positions] == [("AAPL", "10")]  # 11 buys, 10 sells


async def test_with_every_commit_synced_to_disk_no_batch_runs_on_the_loop(
    tmp_path: Path, inline_runs: list[bool]
) -> None:
    """sqlite_synchronous = FULL: each COMMIT waits for the disk, which must not hold the loop."""
    from execution_server.config import replace

    settings = replace(settings_for(f"sqlite+aiosqlite:///{tmp_path}/full.db", tmp_path), sqlite_synchronous="FULL")
    async with running(settings) as client:
        for side in (pb.SIDE_BUY, pb.SIDE_SELL):
            order = await client.place(side=side)
            assert (await client.get(order.order_id)).status == pb.ORDER_STATUS_FILLED
        assert client.app.orders.alone
    assert inline_runs == []
