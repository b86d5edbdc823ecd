"""SimulatedBroker: the embedded paper broker behind the BrokerClient port.

An async shell around the pure MatchingEngine. Each command runs the engine, writes the
resulting facts to the journal, and only then publishes their events; nothing above the
port can tell it from a real broker, except through the simulator's own controls
(set_price, close_session) and the test hooks that make it misbehave on purpose.

A fill racing a cancel is settled by arrival at the engine, always the same way: what
executed before the cancel stands, and its OrderFilled is on the stream ahead of the
OrderCancelled; a fully filled order refuses the cancel (CancelRefused); nothing executes
after a confirmed cancel. A cancel that arrives during an order's ack delay wins: the
order never works, and its OrderCancelled follows its OrderAccepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from execution_server.brokers.base import (
    BrokerAccount,
    BrokerAck,
    BrokerEvent,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    StreamMarker,
    SubmissionOutcomeUnknown,
)
from execution_server.brokers.conveniences import BrokerConveniences
from execution_server.brokers.simulated import journal
from execution_server.brokers.simulated.engine import MatchingEngine
from execution_server.brokers.simulated.facts import FILLED, NEW, PARTIALLY_FILLED, Accepted, Activated, Closed, Fact, Filled
from execution_server.brokers.simulated.journal import CompactionPolicy, Journal, MemoryJournal
from execution_server.brokers.simulated.order import SimOrder
from execution_server.brokers.simulated.settings import SimulatorSettings
from execution_server.brokers.simulated.stream import EventStream
from execution_server.brokers.simulated.ticker import RandomWalk
from execution_server.domain.money import ZERO, parse_decimal
from execution_server.domain.orders import Order, Side

CANCEL_REASON = "cancelled on request"
BEHIND_BACK_REASON = "cancelled at the broker, outside the service"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedBroker(BrokerConveniences):
    """A paper broker in the process: call start() before use and close() at the end."""

    name = "simulated"

    def __init__(
        self,
        settings: SimulatorSettings | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        lifetime: str | None = None,
        compaction: CompactionPolicy = CompactionPolicy(),
    ) -> None:
        self.settings = settings = settings or SimulatorSettings()
        # Fresh for every broker object, so every start: ids this lifetime hands out cannot be
        # ones an earlier lifetime did, whatever became of its journal (the service's database
        # remembers them all). Random, not seeded: a seeded run would repeat its lifetimes.
        # Passing one is for tests that name the ids.
        self.lifetime = lifetime if lifetime is not None else secrets.token_hex(6)
        self.engine = MatchingEngine(
            settings.starting_cash, settings.reference_prices, settings.default_price, lifetime=self.lifetime
        )
        self._clock = clock
        self._state_path = None if settings.state_path is None else Path(settings.state_path)
        self._journal = Journal(self._state_path) if self._state_path else MemoryJournal()
        self._compaction = compaction
        self._stream = EventStream(clock, settings.drop_stream_fraction, settings.seed)
        self._submissions = random.Random(f"{settings.seed}:submit")
        self._awaiting_ack: set[str] = set()
        self._markers = 0
        self._deferred: dict[str, list[BrokerEvent]] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False

    # --- lifecycle ---

    async def start(self) -> None:
        """Replay and compact the journal, then work the orders a crash left unacknowledged."""
        if self._closed:
            raise RuntimeError("a closed SimulatedBroker cannot start again")
        if self._started:
            return
        if self._state_path is not None:
            self.engine.replay(list(journal.read(self._state_path)))
        self._compact()
        self._started = True
        for order in list(self.engine.ledger.orders.values()):
            if not order.active:
                self._activate_after_restart(order.order_id)
        if self.settings.ticker_interval_seconds is not None:
            self._ticker = asyncio.create_task(self._tick_forever(), name="simulated-broker-ticker")

    async def close(self) -> None:
        """Stop the ticker, end the event stream, close the journal. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self._stream.close()
        self._journal.close()

    # --- the BrokerClient port ---

    async def submit(self, order: Order) -> BrokerAck:
        """Accept (journaled before anything is awaited), wait the ack delay, start working.

        Fills come only through events(). Failure injection draws one number per call.
        """
        self._require_running()
        roll = self._submissions.random()
        settings = self.settings
        if roll < settings.reject_fraction:
            raise BrokerRejected("simulated rejection (failure injection)")
        accepted = self.engine.accept(order.spec, self._clock())
        order_id = accepted.order_id
        if settings.ack_latency_seconds > 0:
            await self._acknowledge_later(accepted)
        else:
            self._record([accepted, *self.engine.activate(order_id, self._clock())])
        if roll < settings.reject_fraction + settings.unknown_outcome_fraction:
            raise SubmissionOutcomeUnknown(
                f"simulated lost acknowledgement for {order.client_order_id} (failure injection)"
            )
        return BrokerAck(order_id, NEW)

    async def _acknowledge_later(self, accepted: Accepted) -> None:
        order_id = accepted.order_id
        self._record([accepted])
        self._awaiting_ack.add(order_id)
        try:
            await asyncio.sleep(self.settings.ack_latency_seconds)
        finally:
            # Even if our caller gave up waiting, the broker goes on with the order.
            if not self._closed:
                self._record(self.engine.activate(order_id, self._clock()))
        if self._closed:
            raise SubmissionOutcomeUnknown(f"broker closed before acknowledging {order_id}")

    async def cancel(self, order: Order) -> None:
        """Cancel what is still open; the confirmation comes as OrderCancelled.
        Raises CancelRefused for an unknown, filled or already cancelled order."""
        self._require_running()
        target = self._lookup(order)
        order_id = target.order_id if target is not None else (order.broker_order_id or order.client_order_id)
        self._record(self.engine.cancel(order_id, CANCEL_REASON, self._clock()))

    async def find_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        self._require_running()
        found = self.engine.ledger.by_client_id.get(client_order_id)
        return None if found is None else found.to_broker_order()

    async def open_orders(self) -> list[BrokerOrder]:
        self._require_running()
        return [order.to_broker_order() for order in self.engine.ledger.open.values()]

    async def positions(self) -> list[BrokerPosition]:
        self._require_running()
        held = sorted(self.engine.ledger.positions.items())
        return [BrokerPosition(symbol, quantity, average or ZERO) for symbol, (quantity, average) in held]

    async def account(self) -> BrokerAccount:
        """Cash; equity at current prices; buying power is cash less what open buys would
        spend at their limit (or the current price), never below zero."""
        self._require_running()
        ledger = self.engine.ledger
        equity = ledger.cash + sum((q * ledger.price(s) for s, (q, _) in ledger.positions.items()), ZERO)
        reserved = sum((_buy_commitment(o, ledger.price(o.symbol)) for o in ledger.open.values()), ZERO)
        return BrokerAccount(cash=ledger.cash, buying_power=max(ZERO, ledger.cash - reserved), equity=equity)

    def events(self) -> AsyncIterator[BrokerEvent]:
        return self._stream.subscribe()

    def request_marker(self) -> object | None:
        self._markers += 1
        return self._markers if self._stream.mark(StreamMarker(self._markers)) else None

    async def prepare_price(self, symbol: str) -> None:
        """Nothing to look up: the simulated market always has a price (its default)."""

    def reference_price(self, symbol: str) -> Decimal | None:
        """The current price: last set, else the configured reference, else the default."""
        return self.engine.ledger.price(symbol)

    # --- the simulated market ---

    def set_price(
        self, symbol: str, price: Decimal | str, available_quantity: Decimal | str | None = None
    ) -> int:
        """Trade `symbol` at `price`, at most `available_quantity` of it (None or "": no
        cap). Returns the number of fills it caused."""
        self._require_running()
        cap = None if available_quantity is None or available_quantity == "" else _decimal(available_quantity)
        facts = self.engine.set_price(symbol, _decimal(price), cap, self._clock())
        self._record(facts)
        return sum(1 for fact in facts if isinstance(fact, Filled))

    def close_session(self) -> list[str]:
        """Expire every open DAY order ("expired at session close"); returns their ids."""
        self._require_running()
        facts = self.engine.close_session(self._clock())
        self._record(facts)
        return [fact.order_id for fact in facts]

    # --- test hooks: the broker misbehaving on purpose ---

    def set_position(self, symbol: str, quantity: Decimal | str, average_entry_price: Decimal | str) -> None:
        """Overwrite the broker's position (as if traded on the broker's web page); cash is
        left alone."""
        self._require_running()
        self._record(self.engine.set_position(symbol, _decimal(quantity), _decimal(average_entry_price)))

    def cancel_behind_back(self, broker_order_id: str) -> None:
        """Cancel at the broker without any event: only reconciliation can notice."""
        self._require_running()
        self._record(self.engine.cancel(broker_order_id, BEHIND_BACK_REASON, self._clock(), silent=True))

    def lose_next_events(self, count: int) -> None:
        """The next `count` order events happen at the broker but never reach the stream."""
        self._stream.lose_next(count)

    def drop_stream(self) -> None:
        """Break the current events() iterator with BrokerStreamDropped."""
        self._stream.drop()

    # --- internals ---

    def _record(self, facts: Sequence[Fact]) -> None:
        """Journal first, then tell the world: an event never precedes its record."""
        self._journal.append(facts)
        ledger = self.engine.ledger
        # The ledger holds exactly what is journaled (every change goes through here, with no
        # await in between), so its snapshot loses nothing the file had.
        if self._journal.is_open and self._compaction.due(self._journal.lines, 1 + len(ledger.by_seq)):
            self._compact()
        for fact in facts:
            event = _event_for(fact, ledger.orders)
            if event is None:
                continue
            order_id = event.broker_order_id
            if isinstance(fact, Activated):
                self._awaiting_ack.discard(order_id)
                self._stream.publish(event)
                for deferred in self._deferred.pop(order_id, ()):
                    self._stream.publish(deferred)
            elif order_id in self._awaiting_ack:
                self._deferred.setdefault(order_id, []).append(event)  # never ahead of its ack
            else:
                self._stream.publish(event)

    def _compact(self) -> None:
        """The journal rewritten as the ledger's snapshot: one account line, one per order."""
        account, orders = self.engine.ledger.snapshot()
        self._journal.compact([account, *orders])

    def _activate_after_restart(self, order_id: str) -> None:
        """An order accepted just before a crash: ack it now; if it was cancelled in its ack
        delay, repeat the cancel event lost with the process."""
        self._record(self.engine.activate(order_id, self._clock()))
        order = self.engine.ledger.orders[order_id]
        if not order.is_open and not order.fills:
            self._stream.publish(OrderCancelled(order_id, order.client_order_id, order.reason, order.broker_status, self._clock()))

    def _lookup(self, order: Order) -> SimOrder | None:
        ledger = self.engine.ledger
        if order.broker_order_id:
            return ledger.orders.get(order.broker_order_id)
        return ledger.by_client_id.get(order.client_order_id)

    def _require_running(self) -> None:
        if not self._started:
            raise RuntimeError("SimulatedBroker.start() has not been called")
        if self._closed:
            raise RuntimeError("SimulatedBroker is closed")

    async def _tick_forever(self) -> None:
        walk = RandomWalk(self.settings.ticker_seed)
        interval = self.settings.ticker_interval_seconds or 1.0
        ledger = self.engine.ledger
        while True:
            await asyncio.sleep(interval)
            for symbol in sorted(set(ledger.reference_prices) | set(ledger.prices) | set(ledger.books)):
                self.set_price(symbol, walk.step(ledger.price(symbol)))


def _event_for(fact: Fact, orders: dict[str, SimOrder]) -> BrokerEvent | None:
    if isinstance(fact, Filled):
        order = orders[fact.order_id]
        status = FILLED if fact.cumulative_quantity == order.quantity else PARTIALLY_FILLED
        return OrderFilled(
            fact.order_id, order.client_order_id, fact.execution_id, fact.quantity, fact.price, fact.at, status
        )
    if isinstance(fact, Activated):
        return OrderAccepted(fact.order_id, orders[fact.order_id].client_order_id, NEW, fact.at)
    if isinstance(fact, Closed) and not fact.silent:
        client_order_id = orders[fact.order_id].client_order_id
        return OrderCancelled(fact.order_id, client_order_id, fact.reason, fact.broker_status, fact.at)
    return None


def _buy_commitment(order: SimOrder, price: Decimal) -> Decimal:
    if order.side is not Side.BUY:
        return ZERO
    return order.remaining * (order.limit_price if order.order_type.needs_limit_price else price)  # type: ignore[operator]


def _decimal(value: Decimal | str) -> Decimal:
    """Decimals pass; strings are parsed; floats are refused (never a float on money)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return parse_decimal(value, signed=True)
    raise TypeError(f"expected a Decimal or a decimal string, got {type(value).__name__}")
