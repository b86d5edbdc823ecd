"""AlpacaClient under the faults of ALPACA_API.md §6-§7, with the real alpaca-py against the emulator."""

from __future__ import annotations

import copy
import logging
import uuid
from decimal import Decimal
from typing import Any

import pytest
from alpaca.trading.requests import MarketOrderRequest

from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from execution_server.brokers.alpaca.rate_limit import OverBudget, RequestBudget
from execution_server.brokers.base import (
    BrokerRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    StreamConnected,
    StreamDisconnected,
    SubmissionOutcomeUnknown,
)
from execution_server.domain.orders import OrderType, TimeInForce
from tests.alpaca.conftest import Collector, adapter, make_client, wait_for
from tests.builders import an_order
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


def order(client_order_id: str, **fields: Any):
    return an_order(client_order_id=client_order_id, quantity=Decimal(fields.pop("quantity", "10")), **fields)


def resting(client_order_id: str, limit: str = "99.5"):
    return order(client_order_id, order_type=OrderType.LIMIT, limit_price=Decimal(limit), time_in_force=TimeInForce.GTC)


def record_frames(emulator: AlpacaEmulator) -> list[dict[str, Any]]:
    """Every trade_updates payload the emulator's exchange emits, whether a socket hears it or not."""
    frames: list[dict[str, Any]] = []
    emulator._call(emulator.server.exchange.sinks.append, lambda data: frames.append(copy.deepcopy(data)))
    return frames


def publish(emulator: AlpacaEmulator, data: dict[str, Any]) -> None:
    """Send a payload over the real websocket to every listener (a repeat, or one we altered)."""
    emulator._call(emulator.server.hub.publish, data)


async def sentinel(client: Any, events: Collector, emulator: AlpacaEmulator) -> None:
    """An order whose fill comes behind everything published before: once it is here, so is the rest."""
    cid = f"sentinel-{uuid.uuid4().hex[:8]}"
    await client.submit(order(cid, symbol="SENT", quantity="1"))
    await wait_for(lambda: events.of(OrderFilled, cid))


# --- REST faults on submit: settled by lookup, never sent twice ---

@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_5xx_on_submit_is_an_unknown_outcome_and_one_submission(emulator: AlpacaEmulator, status: int) -> None:
    async with adapter(emulator) as client:
        emulator.fail_next(status, after_processing=True)
        with pytest.raises(SubmissionOutcomeUnknown):
            await client.submit(order("x-1"))
        assert len(emulator.submissions("x-1")) == 1  # alpaca-py's retry of 504 is off
        found = await client.find_by_client_id("x-1")
        assert found is not None and found.filled_quantity == Decimal("10")


async def test_a_timeout_on_submit_is_an_unknown_outcome_and_one_submission(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator, http_timeout=(1.0, 0.3)) as client:
        emulator.delay(1.0, count=1)
        with pytest.raises(SubmissionOutcomeUnknown):
            await client.submit(order("t-1"))
        await wait_for(lambda: len(emulator.submissions("t-1")) == 1)
        assert (await client.find_by_client_id("t-1")) is not None
        assert len(emulator.submissions("t-1")) == 1


async def test_a_duplicate_client_order_id_is_an_unknown_outcome(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        await client.submit(order("d-1"))
        with pytest.raises(SubmissionOutcomeUnknown):
            await client.submit(order("d-1"))


# --- rate limits ---

async def test_a_429_storm_is_waited_out_and_the_cancel_goes_through(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        working = resting("r-1")
        ack = await client.submit(working)
        emulator.fail_next(429, count=3)
        await client.cancel(working.submitted(ack.broker_order_id, ack.broker_status, working.created_at))
        [state] = [o for o in emulator.orders() if o["client_order_id"] == "r-1"]
        assert state["status"] == "canceled"


async def test_a_429_storm_past_the_deadline_rejects_the_order_saying_so_unsent(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator, submit_deadline=0.3) as client:
        emulator.fail_next(429, count=50)
        with pytest.raises(BrokerRejected) as refused:
            await client.submit(order("rl-1"))
        assert "RATE_LIMITED" in refused.value.reason
        assert emulator.submissions("rl-1") == []
        emulator.clear_faults()


async def test_cancels_go_through_when_reads_have_spent_the_budget(emulator: AlpacaEmulator) -> None:
    budget = RequestBudget(per_minute=30)
    async with adapter(emulator, budget=budget, read_deadline=0.0) as client:
        working = resting("b-1")
        ack = await client.submit(working)
        with pytest.raises(OverBudget):
            for _ in range(30):
                await client.positions()
        await client.cancel(working.submitted(ack.broker_order_id, ack.broker_status, working.created_at))
        assert [o["status"] for o in emulator.orders() if o["client_order_id"] == "b-1"] == ["canceled"]



async def test_alpacas_remaining_count_on_an_answer_caps_the_budget() -> None:
    """X-Ratelimit-Remaining on an ordinary answer (not a 429) is honoured: once Alpaca says only
    the reads' and cancels' reserve is left, a new order is refused unsent, though our own bucket
    (200 a minute) still has room. The headers reach the budget through the response hook."""
    with AlpacaEmulator(rate_limit_per_minute=13, key=ALPACA_KEY, secret=ALPACA_SECRET) as emulator:
        emulator.set_price("AAPL", "100")
        async with adapter(emulator, submit_deadline=0.3) as client:
            # start() read the open orders (Alpaca: 12 left); the submit lane keeps 10 in reserve.
            await client.submit(order("hr-1"))  # 11 left
            await client.submit(order("hr-2"))  # 10 left: the reserve
            with pytest.raises(BrokerRejected) as refused:
                await client.submit(order("hr-3"))
            assert "RATE_LIMITED" in refused.value.reason
            assert [len(emulator.submissions(cid)) for cid in ("hr-1", "hr-2", "hr-3")] == [1, 1, 0]

# --- the stream: each execution once ---

async def test_a_repeated_fill_event_counts_once(emulator: AlpacaEmulator) -> None:
    frames = record_frames(emulator)
    async with adapter(emulator) as client:
        events = Collector(client)
        await client.submit(order("dup-1"))
        await wait_for(lambda: events.of(OrderFilled, "dup-1"))
        [fill] = [f for f in frames if f["event"] == "fill"]
        publish(emulator, fill)
        publish(emulator, fill)
        await sentinel(client, events, emulator)
        assert [e.quantity for e in events.of(OrderFilled, "dup-1")] == [Decimal("10")]
        await events.stop()


async def test_reordered_fill_events_count_each_execution_once_with_its_own_quantity(emulator: AlpacaEmulator) -> None:
    frames = record_frames(emulator)
    async with adapter(emulator) as client:
        events = Collector(client)
        await client.submit(resting("ro-1"))
        await wait_for(lambda: events.of(OrderAccepted, "ro-1"))
        emulator.silence_stream(True)  # the executions happen, their events wait
        emulator.set_price("AAPL", "99.4", available="6")
        emulator.set_price("AAPL", "99.3", available="4")
        emulator.silence_stream(False)
        first, last = [f for f in frames if f["event"] in ("partial_fill", "fill")]
        publish(emulator, last)  # cumulative 10, its own 4
        publish(emulator, first)  # cumulative 6, its own 6: still news
        publish(emulator, last)
        await sentinel(client, events, emulator)
        fills = events.of(OrderFilled, "ro-1")
        assert [(f.quantity, f.price) for f in fills] == [(Decimal("4"), Decimal("99.3")), (Decimal("6"), Decimal("99.4"))]
        await events.stop()


async def test_an_overfilling_event_is_refused_and_logged(emulator: AlpacaEmulator, caplog: pytest.LogCaptureFixture) -> None:
    frames = record_frames(emulator)
    async with adapter(emulator) as client:
        events = Collector(client)
        await client.submit(order("of-1"))
        await wait_for(lambda: events.of(OrderFilled, "of-1"))
        [fill] = [f for f in frames if f["event"] == "fill"]
        over = copy.deepcopy(fill)
        over["execution_id"], over["qty"] = str(uuid.uuid4()), "5"
        over["order"]["filled_qty"] = "15"
        with caplog.at_level(logging.ERROR, "execution_server.brokers.alpaca"):
            publish(emulator, over)
            await sentinel(client, events, emulator)
        assert [e.quantity for e in events.of(OrderFilled, "of-1")] == [Decimal("10")]
        assert any("overfill" in r.getMessage() and "of-1" in r.getMessage() for r in caplog.records)
        await events.stop()


async def test_fills_while_the_stream_is_down_are_recovered_after_the_reconnect(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        events = Collector(client)
        await client.submit(resting("dn-1"))
        await client.submit(resting("dn-2", "99"))
        await wait_for(lambda: len(events.of(OrderAccepted)) == 2)
        emulator.set_price("AAPL", "99.45", available="3")  # heard: dn-1 3 of 10
        await wait_for(lambda: events.of(OrderFilled, "dn-1"))
        emulator.silence_stream(True)  # the link is dead but not yet known to be
        emulator.set_price("AAPL", "99.4", available="4")  # dn-1: 7 of 10, unheard
        emulator.set_price("AAPL", "98.9")  # dn-1 and dn-2 fill, unheard
        assert events.of(OrderFilled, "dn-2") == []
        emulator.drop_stream()
        await wait_for(lambda: any(isinstance(e, StreamConnected) and e.reconnect for e in events.events))
        reconnected = next(i for i, e in enumerate(events.events) if isinstance(e, StreamConnected) and e.reconnect)
        went_down = [i for i, e in enumerate(events.events) if isinstance(e, StreamDisconnected)]
        assert len(went_down) == 1 and went_down[0] < reconnected  # the service hears it went down
        assert all(events.events.index(f) < reconnected for f in events.of(OrderFilled))  # recovered before it
        by_order = {cid: sum(f.quantity for f in events.of(OrderFilled, cid)) for cid in ("dn-1", "dn-2")}
        assert by_order == {"dn-1": Decimal("10"), "dn-2": Decimal("10")}
        notional = sum(f.quantity * f.price for f in events.of(OrderFilled, "dn-1"))
        # The two unheard executions come back as one, at the price that explains Alpaca's
        # cumulative average: exact up to the service's one rounding of averages (24 places).
        exact = Decimal("3") * Decimal("99.45") + Decimal("4") * Decimal("99.4") + Decimal("3") * Decimal("98.9")
        assert abs(notional - exact) < Decimal("1e-20")
        assert [f.quantity for f in events.of(OrderFilled, "dn-1")] == [Decimal("3"), Decimal("7")]
        [position] = await client.positions()
        assert position.quantity == Decimal("20")
        await events.stop()


async def test_an_order_cancelled_while_the_stream_is_down_is_reported_after_the_reconnect(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        events = Collector(client)
        ack = await client.submit(resting("cx-1"))
        await wait_for(lambda: events.of(OrderAccepted, "cx-1"))
        emulator.cancel_order(ack.broker_order_id, notify=False)
        emulator.drop_stream()
        await wait_for(lambda: events.of(OrderCancelled, "cx-1"))
        assert client.request_marker() is not None
        await events.stop()


async def test_an_order_unknown_to_the_adapter_is_left_to_reconciliation_after_a_reconnect(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        events = Collector(client)
        await wait_for(lambda: events.of(StreamConnected))
        emulator.silence_stream(True)
        other = make_client(emulator)  # someone else trading on the account, unheard
        other.submit_order(MarketOrderRequest(symbol="AAPL", qty=2, side="buy", time_in_force="day", client_order_id="elsewhere"))
        await client.submit(order("mine-1"))  # ours, its events unheard too
        emulator.drop_stream()
        await wait_for(lambda: any(isinstance(e, StreamConnected) and e.reconnect for e in events.events))
        assert [f.quantity for f in events.of(OrderFilled, "mine-1")] == [Decimal("10")]
        assert events.of(OrderFilled, "elsewhere") == [] and events.of(OrderAccepted, "elsewhere") == []
        await events.stop()
