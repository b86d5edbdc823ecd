"""Reading the broker's event stream for as long as the service runs, reconnecting when it drops.

Events are queued to the writer without waiting for each commit (the queue keeps their
order), with a bounded number in flight, so a burst of fills shares transactions. The writer's
future for each is all that is kept: no task per event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from execution_server.brokers.base import BrokerClient, BrokerStreamDropped, StreamConnected
from execution_server.oms.broker_events import BrokerEventApplier

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 256


class BrokerEventConsumer:
    def __init__(
        self,
        broker: BrokerClient,
        applier: BrokerEventApplier,
        on_reconnect: Callable[[], None],
        reconnect_delay_seconds: float = 0.2,
    ) -> None:
        self._broker = broker
        self._applier = applier
        self._on_reconnect = on_reconnect
        self._delay = reconnect_delay_seconds
        self._task: asyncio.Task[None] | None = None
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._pending: set[asyncio.Future[object]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broker-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await asyncio.gather(*self._pending, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                async for event in self._broker.events():
                    if isinstance(event, StreamConnected):
                        if event.reconnect:
                            log.warning("broker event stream re-established; reconciling")
                            self._on_reconnect()
                        continue
                    await self._in_flight.acquire()
                    applied: asyncio.Future[object] = self._applier.queue(event)  # type: ignore[assignment]
                    self._pending.add(applied)
                    applied.add_done_callback(self._done)
            except BrokerStreamDropped as error:
                log.warning("broker event stream dropped (%s); reconnecting", error)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("broker event stream failed; reconnecting")
            await asyncio.sleep(self._delay)

    def _done(self, applied: asyncio.Future[object]) -> None:
        self._pending.discard(applied)
        self._in_flight.release()
        if not applied.cancelled() and applied.exception() is not None:
            log.error("broker event not applied: %s", applied.exception())
