"""The composition root's lifecycle: a start that fails half-way leaves nothing running, and
stop() after it (and after that, again) releases everything and raises nothing."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from execution_server.app import Application
from execution_server.config import SimulatorConfig, replace
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from tests.harness import running, settings_for


def _other_tasks() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()]


async def _assert_released(app: Application, database_url: str, state_dir: Path) -> None:
    """Nothing of the app still runs, and a new service on the same database and simulator
    journal starts, trades and stops: nothing the first one held is still held."""
    await asyncio.sleep(0)
    assert _other_tasks() == []
    assert app.engine.pool.checkedout() == 0
    async with running(settings_for(database_url, state_dir)) as client:
        order = await client.place(client_order_id="after-the-failed-start")
        assert order.client_order_id == "after-the-failed-start"
    assert _other_tasks() == []


async def test_a_start_that_fails_on_a_taken_port_is_released_by_stop(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = settings_for(database_url, tmp_path, grpc_address=f"127.0.0.1:{port}")
        # A ticker too, so that the broker has a task of its own running when the start fails.
        settings = replace(
            settings,
            simulator=SimulatorConfig(state_path=tmp_path / "simulator.jsonl", ticker_interval_seconds=0.05),
        )
        app = Application(settings)
        with pytest.raises((OSError, RuntimeError)):
            await app.start()
        assert _other_tasks(), "the start failed before anything ran: not the half-way case"
        await app.stop()
        await app.stop()
    await _assert_released(app, database_url, tmp_path)


async def test_a_start_refused_by_an_old_schema_is_released_by_stop(database_url: str, tmp_path: Path) -> None:
    app = Application(settings_for(database_url, tmp_path, migrate_on_start=False))
    with pytest.raises(RuntimeError, match="not at head"):
        await app.start()
    await app.stop()
    await app.stop()
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    await _assert_released(app, database_url, tmp_path)


async def test_stop_twice_after_a_full_start_is_harmless(database_url: str, tmp_path: Path) -> None:
    app = Application(settings_for(database_url, tmp_path))
    await app.start()
    await app.stop()
    await app.stop()
    await _assert_released(app, database_url, tmp_path)
