"""AlpacaClient, the BrokerClient port, with the real alpaca-py against the emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from execution_server.brokers.base import (
    BrokerClient,
    BrokerRejected,
    CancelRefused,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    StreamConnected,
    StreamMarker,
)
from execution_server.domain.orders import OrderStatus, OrderType, Side, TimeInForce
from tests.alpaca.conftest import Collector, adapter, wait_for
from tests.builders import an_order

# (type, time in force, limit, stop, fills at 100?)  Alpaca takes every one of these for equities.
CASES = [
    (OrderType.MARKET, TimeInForce.DAY, None, None, True),
    (OrderType.MARKET, TimeInForce.GTC, None, None, True),
    (OrderType.MARKET, TimeInForce.IOC, None, None, True),
    (OrderType.MARKET, TimeInForce.FOK, None, None, True),
    (OrderType.LIMIT, TimeInForce.DAY, "101.5", None, True),
    (OrderType.LIMIT, TimeInForce.GTC, "99", None, False),
    (OrderType.LIMIT, TimeInForce.IOC, "100.25", None, True),
    (OrderType.LIMIT, TimeInForce.FOK, "100", None, True),
    (OrderType.STOP, TimeInForce.DAY, None, "99.5", True),
    (OrderType.STOP, TimeInForce.GTC, None, "105", False),
    (OrderType.STOP_LIMIT, TimeInForce.DAY, "101", "99", True),
    (OrderType.STOP_LIMIT, TimeInForce.GTC, "106", "105", False),
]


def order(client_order_id: str, **fields: object):
    return an_order(client_order_id=client_order_id, quantity=Decimal(fields.pop("quantity", "10")), **fields)


async def test_it_is_a_broker_client(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        assert isinstance(client, BrokerClient)
        assert client.name == "alpaca"


@pytest.mark.parametrize(("order_type", "tif", "limit", "stop", "fills"), CASES)
async def test_each_order_type_and_time_in_force(emulator: AlpacaEmulator, order_type: OrderType, tif: TimeInForce,
                                                 limit: str | None, stop: str | None, fills: bool) -> None:
    cid = f"{order_type.value}-{tif.value}"
    async with adapter(emulator) as client:
        events = Collector(client)
        ack = await client.submit(order(cid, order_type=order_type, time_in_force=tif,
                                        limit_price=limit and Decimal(limit), stop_price=stop and Decimal(stop)))
        sent = emulator.submissions(cid)
        assert len(sent) == 1 and sent[0]["type"] == order_type.value.lower() and sent[0]["time_in_force"] == tif.value.lower()
        await wait_for(lambda: events.of(OrderAccepted, cid))
        found = await client.find_by_client_id(cid)
        assert found is not None and found.broker_order_id == ack.broker_order_id
        assert found.order_type is order_type and found.time_in_force is tif
        if fills:
            await wait_for(lambda: events.of(OrderFilled, cid))
            [fill] = events.of(OrderFilled, cid)
            assert (fill.quantity, fill.price) == (Decimal("10"), Decimal("100"))
            assert found.status is OrderStatus.FILLED and found.filled_quantity == Decimal("10")
        else:
            assert found.status is OrderStatus.SUBMITTED
            assert [o.client_order_id for o in await client.open_orders()] == [cid]
        await events.stop()


async def test_partial_fills_arrive_with_their_own_exact_quantities_and_prices(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        events = Collector(client)
        await client.submit(order("p-1", order_type=OrderType.LIMIT, limit_price=Decimal("99.5"), time_in_force=TimeInForce.GTC))
        await wait_for(lambda: events.of(OrderAccepted, "p-1"))
        emulator.set_price("AAPL", "99.37", available="3.5")  # fractional liquidity, exact decimals
        emulator.set_price("AAPL", "99.31", available="6.5")
        await wait_for(lambda: len(events.of(OrderFilled, "p-1")) == 2)
        assert [(f.quantity, f.price) for f in events.of(OrderFilled, "p-1")] == [
            (Decimal("3.5"), Decimal("99.37")), (Decimal("6.5"), Decimal("99.31"))]
        assert client.reference_price("AAPL") == Decimal("99.31")
        await events.stop()


async def test_cancel_open_orders_positions_account(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        events = Collector(client)
        assert isinstance(events, Collector)
        await wait_for(lambda: events.of(StreamConnected))
        await client.submit(order("buy-1"))
        working = order("rest-1", order_type=OrderType.LIMIT, limit_price=Decimal("90"), time_in_force=TimeInForce.GTC)
        ack = await client.submit(working)
        assert [o.client_order_id for o in await client.open_orders()] == ["rest-1"]
        [position] = await client.positions()
        assert (position.symbol, position.quantity, position.average_entry_price) == ("AAPL", Decimal("10"), Decimal("100"))
        account = await client.account()
        assert account.cash == Decimal("99000")
        await client.cancel(working.submitted(ack.broker_order_id, ack.broker_status, working.created_at))
        await wait_for(lambda: events.of(OrderCancelled, "rest-1"))
        assert await client.open_orders() == []
        with pytest.raises(CancelRefused):
            await client.cancel(working.submitted(ack.broker_order_id, ack.broker_status, working.created_at))
        assert await client.find_by_client_id("never-sent") is None
        emulator.set_position("MSFT", "-5", "300")
        assert {p.symbol: p.quantity for p in await client.positions()} == {"AAPL": Decimal("10"), "MSFT": Decimal("-5")}
        await events.stop()


async def test_a_rejection_carries_alpacas_code_and_message(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        emulator.reject_next_order("insufficient buying power", code=40310000, status=403)
        with pytest.raises(BrokerRejected) as refused:
            await client.submit(order("rej-1", side=Side.BUY))
        assert "40310000" in refused.value.reason and "insufficient buying power" in refused.value.reason


async def test_a_marker_comes_behind_every_event_received_before_it(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        events = Collector(client)
        await wait_for(lambda: events.of(StreamConnected))
        await client.submit(order("m-1"))
        await wait_for(lambda: events.of(OrderFilled, "m-1"))
        token = client.request_marker()
        assert token is not None
        await wait_for(lambda: events.of(StreamMarker))
        assert events.events.index(events.of(StreamMarker)[0]) > events.events.index(events.of(OrderFilled, "m-1")[0])
        await events.stop()


async def test_a_cancel_of_an_id_alpaca_cannot_have_is_refused_unsent(emulator: AlpacaEmulator) -> None:
    async with adapter(emulator) as client:
        with pytest.raises(CancelRefused):
            await client.cancel(an_order(broker_order_id="sim-1"))
