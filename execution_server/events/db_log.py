"""The event log table as the fan-out's LogReader: pages of committed entries, each encoded once."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.domain.events import OrderUpdate
from execution_server.events.log import LogEntry
from execution_server.store import repository


class DatabaseLog:
    def __init__(self, engine: AsyncEngine, encode: Callable[[OrderUpdate], bytes]) -> None:
        self._engine = engine
        self._encode = encode
        self.high_water_mark = 0  # set by the composition root; reads never pass it

    async def read_after(self, after_sequence: int, limit: int) -> list[LogEntry]:
        async with self._engine.connect() as conn:
            rows = await repository.encoded_events_after(conn, after_sequence, self.high_water_mark, limit)
            if any(payload is None for *_, payload in rows):  # written before payloads were stored
                updates = await repository.events_after(conn, after_sequence, self.high_water_mark, limit)
                return [entry_of(update, self._encode) for update in updates]
        return [LogEntry(sequence, strategy, symbol, payload) for sequence, strategy, symbol, payload in rows]  # type: ignore[arg-type]

    async def oldest_sequence(self) -> int | None:
        async with self._engine.connect() as conn:
            return await repository.min_sequence(conn)


def entry_of(update: OrderUpdate, encode: Callable[[OrderUpdate], bytes]) -> LogEntry:
    return LogEntry(update.sequence, update.strategy_id, update.symbol, encode(update))
