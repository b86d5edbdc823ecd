"""The simulated market's daily close: at the same UTC time every day, DAY orders expire."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from execution_server.brokers.simulated.broker import SimulatedBroker

log = logging.getLogger(__name__)


def seconds_until(clock_time_utc: str, now: datetime) -> float:
    """Seconds from `now` to the next "HH:MM" UTC (tomorrow's when today's has passed)."""
    hours, minutes = (int(part) for part in clock_time_utc.split(":"))
    moment = now.astimezone(UTC).replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if moment <= now:
        moment += timedelta(days=1)
    return (moment - now).total_seconds()


class SessionCloseTimer:
    """Closes the simulated broker's session every day at `close_utc` ("HH:MM")."""

    def __init__(self, broker: SimulatedBroker, close_utc: str, clock: Callable[[], datetime]) -> None:
        self._broker = broker
        self._close_utc = close_utc
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._close_daily(), name="simulated-session-close")

    async def stop(self) -> None:
        """Idempotent; harmless before start()."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _close_daily(self) -> None:
        while True:
            await asyncio.sleep(seconds_until(self._close_utc, self._clock()))
            expired = self._broker.close_session()
            log.info("simulated session closed at %s UTC: %d DAY orders expired", self._close_utc, len(expired))
