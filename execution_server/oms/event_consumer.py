"""Reading the broker's event stream for as long as the service runs, reconnecting when it drops.

Events are queued to the writer without waiting for each commit (the queue keeps their
order), with a bounded number in flight, so a burst of fills shares transactions. The writer's
future for each is all that is kept: no task per event.

An event whose write fails is never dropped: it is kept, and the stream is not read further
until every failed event has been applied again, in the order they came, with bounded backoff
(the store may be down for minutes). Meanwhile the service reports itself degraded; once the
backlog is applied it says so and asks for a reconciliation to confirm that it converged.

Markers (brokers/base.py StreamMarker) give reconciliation a consistent cut: between an opening
and a closing marker the consumer notes which orders' events it applied, and at the closing one
it waits until everything before it is applied, reports, and holds further events until the
reconciliation releases it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from execution_server.backoff import Backoff
from execution_server.brokers.base import (
    BrokerClient,
    BrokerEvent,
    BrokerStreamDropped,
    StreamConnected,
    StreamDisconnected,
    StreamMarker,
)
from execution_server.domain.orders import Order
from execution_server.oms.broker_events import BrokerEventApplier
from execution_server.store.writer import ChangeRefused, WriterStopped

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 256
# The longest the stream is held at a closing marker whatever the reconciliation does: events
# wait behind it, so a reconciliation that hangs must not stop fills from being applied.
HOLD_LIMIT_SECONDS = 10.0
ANY_SYMBOL = "*"


@dataclass(frozen=True, slots=True)
class Moved:
    """What the events applied between two markers touched: a difference there may be an event
    the broker's snapshot did or did not include, so it cannot be judged from this cut.
    ANY_SYMBOL in symbols: an event whose order is not known here (every position is in doubt)."""

    symbols: frozenset[str]
    client_order_ids: frozenset[str]


class CutUnavailable(Exception):
    """No consistent cut could be made (the stream dropped, or reconnected, between the markers)."""


class CutNotReached(Exception):
    """The events before the closing marker were not all applied in time (the store refuses them)."""


@dataclass(slots=True)
class _Window:
    opening: object
    closing: object | None = None
    opened: bool = False
    applied: list[asyncio.Future[Order | None]] = field(default_factory=list)
    client_order_ids: set[str] = field(default_factory=set)
    reached: asyncio.Future[Moved] | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)


class BrokerEventConsumer:
    def __init__(
        self,
        broker: BrokerClient,
        applier: BrokerEventApplier,
        on_reconnect: Callable[[], None],
        *,
        on_degraded: Callable[[bool], None] = lambda degraded: None,
        on_recovered: Callable[[], None] = lambda: None,
        on_refused: Callable[[str], None] = lambda what: None,
        on_stream: Callable[[bool], None] = lambda up: None,
        reconnect_delay_seconds: float = 0.2,
        retry: Callable[[], Backoff] = Backoff,
    ) -> None:
        self._broker = broker
        self._applier = applier
        self._on_reconnect = on_reconnect
        self._on_degraded = on_degraded
        self._on_recovered = on_recovered
        self._on_refused = on_refused
        self._on_stream = on_stream
        self.stream_up = False  # the broker's event stream, as the broker last reported it
        self._delay = reconnect_delay_seconds
        self._retry = retry
        self._task: asyncio.Task[None] | None = None
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._pending: set[asyncio.Future[object]] = set()
        self._failed: list[tuple[int, BrokerEvent]] = []
        self._recovering: asyncio.Task[None] | None = None
        self._count = 0  # events dispatched: the order failed ones are applied again in
        self._windows: dict[object, _Window] = {}

    @property
    def degraded(self) -> bool:
        """Events are waiting to be applied again (the store refused them)."""
        return self._recovering is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broker-events")

    async def stop(self) -> None:
        for task in (self._task, self._recovering):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._task = self._recovering = None
        await asyncio.gather(*self._pending, return_exceptions=True)
        self._abandon_windows("the service is stopping")

    async def _run(self) -> None:
        while True:
            try:
                async for event in self._broker.events():
                    if self._recovering is not None:
                        await asyncio.shield(self._recovering)  # nothing overtakes an event not yet applied
                    if isinstance(event, StreamConnected):
                        self._stream_is(up=True)
                        self._abandon_windows("the broker's event stream reconnected")
                        if event.reconnect:
                            log.warning("broker event stream re-established; reconciling")
                            self._on_reconnect()
                    elif isinstance(event, StreamDisconnected):
                        self._stream_is(up=False)
                        self._abandon_windows("the broker's event stream went down")
                    elif isinstance(event, StreamMarker):
                        await self._at_marker(event.token)
                    else:
                        await self._dispatch(event)
            except BrokerStreamDropped as error:
                log.warning("broker event stream dropped (%s); reconnecting", error)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("broker event stream failed; reconnecting")
            self._stream_is(up=False)
            self._abandon_windows("the broker's event stream dropped")
            await asyncio.sleep(self._delay)

    async def _dispatch(self, event: BrokerEvent) -> None:
        await self._in_flight.acquire()
        index, self._count = self._count, self._count + 1
        applied: asyncio.Future[Order | None] = self._applier.queue(event)  # type: ignore[arg-type]
        for window in {id(window): window for window in self._windows.values()}.values():  # each once
            if window.opened and not (window.reached is not None and window.reached.done()):
                window.applied.append(applied)
                window.client_order_ids.add(event.client_order_id)  # type: ignore[union-attr]
        self._pending.add(applied)  # type: ignore[arg-type]
        applied.add_done_callback(lambda future: self._done(index, event, future))

    def _done(self, index: int, event: BrokerEvent, applied: asyncio.Future[Order | None]) -> None:
        self._pending.discard(applied)  # type: ignore[arg-type]
        self._in_flight.release()
        if applied.cancelled() or applied.exception() is None:
            return
        if isinstance(applied.exception(), ChangeRefused):
            self._refused(event, applied.exception())  # type: ignore[arg-type]
            return
        self._failed.append((index, event))
        if self._recovering is None:
            log.error(
                "broker event not applied (%s): kept, and applied again once the store takes it; "
                "the stream waits behind it", applied.exception(),
            )
            self._on_degraded(True)
            self._recovering = asyncio.create_task(self._apply_failed(), name="broker-events-retry")

    async def _apply_failed(self) -> None:
        """Apply every failed event again, oldest first, each until it is applied."""
        applied_late = 0
        while self._pending or self._failed:
            await asyncio.gather(*list(self._pending), return_exceptions=True)  # more may fail meanwhile
            failed, self._failed = sorted(self._failed, key=lambda item: item[0]), []
            for _, event in failed:
                await self._apply_until_done(event)
                applied_late += 1
        self._recovering = None
        log.warning("the store takes broker events again: %d applied late; reconciling to confirm", applied_late)
        self._on_degraded(False)
        self._on_recovered()

    async def _apply_until_done(self, event: BrokerEvent) -> None:
        backoff = self._retry()
        while True:
            try:
                await self._applier.queue(event)  # type: ignore[arg-type]
                return
            except WriterStopped:
                raise  # shutting down: a restart's recovery and reconciliation take it from here
            except ChangeRefused as refusal:
                self._refused(event, refusal)
                return
            except Exception as error:  # noqa: BLE001 - whatever refused it, the event is kept
                delay = backoff.next_delay()
                log.warning("broker event still not applied (%s); again in %.2f s: %s", error, delay, event)
                await asyncio.sleep(delay)

    def _stream_is(self, *, up: bool) -> None:
        if up != self.stream_up:
            self.stream_up = up
            self._on_stream(up)

    def _refused(self, event: BrokerEvent, refusal: ChangeRefused) -> None:
        # Not an outage: the same write would be refused for ever, and the stream must not wait
        # behind it. It is loud, and reconciliation is asked to explain the order.
        log.error("broker event refused by the database, not applied (%s): %s; reconciling", refusal, event)
        self._on_refused(f"event refused by the database for order {event.client_order_id}")  # type: ignore[union-attr]

    # --- consistent cuts for reconciliation ---

    def open_window(self, token: object | None) -> object | None:
        """Start noting the orders moved from the marker `token` on (None: the broker gave no
        marker, so no cut). Call it before awaiting anything after requesting the marker."""
        if token is None:
            return None
        self._windows[token] = _Window(opening=token)
        return token

    @contextlib.asynccontextmanager
    async def held_at(self, opening: object | None, closing: object | None, timeout: float) -> AsyncIterator[Moved]:
        """Wait until every event before the closing marker is applied, and hold the rest while
        the body runs. Yields what moved between the markers. Raises CutUnavailable when no cut
        can be made, CutNotReached when the events before it are not applied in time."""
        window = self._windows.get(opening) if opening is not None else None
        if window is None or closing is None:
            self._windows.pop(opening, None)
            raise CutUnavailable("the broker gave no marker")
        window.closing = closing
        window.reached = asyncio.get_running_loop().create_future()
        window.reached.add_done_callback(lambda reached: reached.cancelled() or reached.exception())  # retrieved
        self._windows[closing] = window
        try:
            try:
                async with asyncio.timeout(timeout):
                    moved = await asyncio.shield(window.reached)
            except TimeoutError:
                raise CutNotReached(f"events before the cut not applied within {timeout} s") from None
            yield moved
        finally:
            window.release.set()
            self._windows.pop(opening, None)
            self._windows.pop(closing, None)

    async def drained(self) -> None:
        """Wait until every event received so far is applied (including failed ones)."""
        while self._pending or self._recovering is not None:
            if self._recovering is not None:
                await asyncio.shield(self._recovering)
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _at_marker(self, token: object) -> None:
        window = self._windows.get(token)
        if window is None:
            return  # abandoned, or not ours
        if token is window.opening:
            window.opened = True
            return
        await self.drained()
        symbols: set[str] = set()
        for applied in window.applied:
            order = None if applied.cancelled() or applied.exception() else applied.result()
            symbols.add(order.symbol if order is not None else ANY_SYMBOL)
        if not window.reached.done():
            window.reached.set_result(Moved(frozenset(symbols), frozenset(window.client_order_ids)))
        try:
            async with asyncio.timeout(HOLD_LIMIT_SECONDS):
                await window.release.wait()
        except TimeoutError:
            log.error("a reconciliation held the broker's events for %.0f s; applying them again", HOLD_LIMIT_SECONDS)

    def _abandon_windows(self, why: str) -> None:
        for window in self._windows.values():
            if window.reached is not None and not window.reached.done():
                window.reached.set_exception(CutUnavailable(why))
        self._windows.clear()
