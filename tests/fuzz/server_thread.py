"""The real service on a loopback port, run by its own event loop in a thread, so that a
synchronous hypothesis test can send it requests and read its database between them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy import func, select

from execution_server.app import Application
from execution_server.config import Settings
from execution_server.store import tables

T = TypeVar("T")
_COUNTS = select(
    select(func.count()).select_from(tables.orders).scalar_subquery(),
    select(func.count()).select_from(tables.order_events).scalar_subquery(),
)


class ServerThread:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzzed-server", daemon=True)
        self.app: Application | None = None
        self.port = 0

    def start(self) -> ServerThread:
        self._thread.start()

        async def start() -> int:
            self.app = Application(self._settings)
            return await self.app.start()

        self.port = self.run(start())
        return self

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self._loop.is_running()

    def rows(self) -> tuple[int, int]:
        """(orders, order events) in the database."""
        assert self.app is not None
        engine = self.app.engine

        async def count() -> tuple[int, int]:
            async with engine.connect() as conn:
                row = (await conn.execute(_COUNTS)).one()
            return row[0], row[1]

        return self.run(count())

    def settle(self) -> None:
        """Wait until every event the broker sent so far is applied: its markers are never lost
        and come behind every event before them (the cut reconciliation uses)."""
        assert self.app is not None
        app = self.app

        async def settle() -> None:
            broker, events = app.broker, app.consumer
            opening = events.open_window(broker.request_marker())  # type: ignore[attr-defined]
            closing = broker.request_marker()  # type: ignore[attr-defined]
            async with events.held_at(opening, closing, timeout=60):
                pass
            await events.drained()

        self.run(settle())

    def stop(self) -> None:
        try:
            if self.app is not None:
                self.run(self.app.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=60)
            self._loop.close()
