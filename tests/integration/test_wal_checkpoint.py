"""SQLite's WAL is checkpointed by the service's own task, not by the COMMIT that fills it: no
connection of the engine checkpoints on commit, and the task checkpoints the WAL once after
commits, not while nothing is committed. Orders written before a checkpoint and after it are
all there after a restart."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from execution.v1 import execution_pb2 as pb
from execution_server.store import wal_checkpoint
from tests.harness import running, settings_for
from tests.waiting import eventually


@pytest.fixture
def checkpoints(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int] | None]:
    """Every checkpoint the task runs, with what SQLite reported; looks every 50 ms."""
    monkeypatch.setattr(wal_checkpoint, "LOOK_SECONDS", 0.05)
    runs: list[tuple[int, int, int] | None] = []
    real = wal_checkpoint.WalCheckpoint.checkpoint

    def recorded(self: wal_checkpoint.WalCheckpoint) -> tuple[int, int, int] | None:
        runs.append(real(self))
        return runs[-1]

    monkeypatch.setattr(wal_checkpoint.WalCheckpoint, "checkpoint", recorded)
    return runs


async def test_the_wal_is_checkpointed_by_the_task_after_commits_and_not_by_commits(
    tmp_path: Path, checkpoints: list[tuple[int, int, int] | None]
) -> None:
    sides = itertools.cycle((pb.SIDE_BUY, pb.SIDE_SELL))
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/wal.db", tmp_path)
    async with running(settings) as client:
        async with client.app.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
        first = [await client.place(side=next(sides)) for _ in range(5)]
        await eventually(lambda: _ran(checkpoints), lambda ran: ran >= 1)
        [(_, frames, done)] = [run for run in checkpoints if run is not None][:1]
        assert frames > 0 and 0 < done <= frames  # copied into the database (all of it unless a reader held some)
        settled = await _no_checkpoint_while_nothing_is_committed(client.app, checkpoints)
        second = [await client.place(side=next(sides)) for _ in range(5)]
        await eventually(lambda: _ran(checkpoints), lambda ran: ran > settled)

    async with running(settings) as client:
        for order in [*first, *second]:
            assert (await client.get(order.order_id)).status == pb.ORDER_STATUS_FILLED


async def _no_checkpoint_while_nothing_is_committed(app: Any, checkpoints: list[Any]) -> int:
    """Waits for a stretch with nothing committed (what was committed before it has had its
    checkpoint, at the first look), then asserts that a further stretch with nothing committed
    has no checkpoint. A late commit (a fill after its reply) only starts the wait again."""
    for _ in range(20):
        sequence = app.writer.last_sequence
        await asyncio.sleep(0.15)  # three looks
        if app.writer.last_sequence != sequence:
            continue
        settled = len(checkpoints)
        await asyncio.sleep(0.3)  # six more
        if app.writer.last_sequence == sequence:
            assert len(checkpoints) == settled
            return settled
    raise AssertionError("something kept being committed")


async def _ran(checkpoints: list[tuple[int, int, int] | None]) -> int:
    return len(checkpoints)
