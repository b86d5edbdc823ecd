"""The event stream and the hooks that make the broker misbehave on purpose."""

from __future__ import annotations

import asyncio

import pytest

from execution_server.brokers.base import (
    BrokerStreamDropped,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    StreamConnected,
)
from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings
from execution_server.domain.orders import OrderStatus, OrderType

from .builders import D, an_order
from .conftest import assert_no_event, take


async def test_events_before_the_first_connection_are_kept_for_it(broker: SimulatedBroker) -> None:
    await broker.submit(an_order())
    events = await take(broker.events(), 3)
    assert [type(e) for e in events] == [StreamConnected, OrderAccepted, OrderFilled]


async def test_drop_stream_breaks_the_reader_and_the_next_connection_says_reconnect(broker: SimulatedBroker) -> None:
    stream = broker.events()
    await take(stream, 1)
    broker.drop_stream()
    with pytest.raises(BrokerStreamDropped):
        await take(stream, 1)
    await broker.submit(an_order(client_order_id="while-down"))  # happens at the broker, event lost
    again = broker.events()
    reconnected = await take(again, 1)
    assert reconnected == [StreamConnected(reconnected[0].time, reconnect=True)]
    await assert_no_event(again)
    assert (await broker.find_by_client_id("while-down")).status is OrderStatus.FILLED  # type: ignore[union-attr]


async def test_events_queued_but_unread_when_the_stream_drops_are_lost(broker: SimulatedBroker) -> None:
    stream = broker.events()
    await take(stream, 1)
    await broker.submit(an_order())
    broker.drop_stream()
    with pytest.raises(BrokerStreamDropped):
        await take(stream, 1)


async def test_after_a_reconnect_new_events_flow_again(broker: SimulatedBroker) -> None:
    broker.drop_stream()
    stream = broker.events()
    await take(stream, 1)
    await broker.submit(an_order())
    assert [type(e) for e in await take(stream, 2)] == [OrderAccepted, OrderFilled]


async def test_lose_next_events_drops_exactly_that_many_order_events(broker: SimulatedBroker) -> None:
    stream = broker.events()
    await take(stream, 1)
    broker.lose_next_events(2)
    await broker.submit(an_order(client_order_id="lost"))
    await broker.submit(an_order(client_order_id="seen"))
    events = await take(stream, 2)
    assert [(type(e), e.client_order_id) for e in events] == [(OrderAccepted, "seen"), (OrderFilled, "seen")]  # type: ignore[union-attr]
    await assert_no_event(stream)


async def test_cancel_behind_back_cancels_at_the_broker_without_an_event(broker: SimulatedBroker) -> None:
    stream = broker.events()
    ack = await broker.submit(an_order(order_type=OrderType.LIMIT, limit="90", client_order_id="c"))
    await take(stream, 2)
    broker.cancel_behind_back(ack.broker_order_id)
    await assert_no_event(stream)
    found = await broker.find_by_client_id("c")
    assert (found.status, await broker.open_orders()) == (OrderStatus.CANCELLED, [])  # type: ignore[union-attr]


async def test_a_new_events_call_replaces_the_previous_connection(broker: SimulatedBroker) -> None:
    first = broker.events()
    await take(first, 1)
    second = broker.events()
    assert (await take(second, 1))[0].reconnect is True  # type: ignore[union-attr]
    with pytest.raises(BrokerStreamDropped):
        await take(first, 1)


async def test_close_ends_the_event_stream() -> None:
    broker = SimulatedBroker(SimulatorSettings())
    await broker.start()
    stream = broker.events()
    await take(stream, 1)
    await broker.close()
    with pytest.raises(StopAsyncIteration):
        await take(stream, 1)


async def test_cancel_during_the_ack_delay_is_reported_after_the_acceptance() -> None:
    broker = SimulatedBroker(SimulatorSettings(ack_latency_seconds=0.05))
    await broker.start()
    stream = broker.events()
    order = an_order(client_order_id="quick-cancel")
    submission = asyncio.create_task(broker.submit(order))
    await asyncio.sleep(0)
    await broker.cancel(order)
    await submission
    events = await take(stream, 3)
    assert [type(e) for e in events[1:]] == [OrderAccepted, OrderCancelled]
    assert (await broker.find_by_client_id("quick-cancel")).filled_quantity == D(0)  # type: ignore[union-attr]
    await broker.close()
