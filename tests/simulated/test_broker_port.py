"""The simulated broker through the BrokerClient port, as the OMS sees it."""

from __future__ import annotations

import pytest

from execution_server.brokers.base import (
    BrokerAck,
    BrokerClient,
    BrokerPosition,
    BrokerRejected,
    CancelRefused,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    StreamConnected,
)
from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings
from execution_server.domain.orders import OrderStatus, OrderType, Side, TimeInForce

from .builders import D, an_order
from .conftest import assert_no_event, take


def test_simulated_broker_implements_the_broker_port() -> None:
    assert isinstance(SimulatedBroker(), BrokerClient)


async def test_submit_acknowledges_and_the_fill_arrives_only_on_the_event_stream(broker: SimulatedBroker) -> None:
    stream = broker.events()
    ack = await broker.submit(an_order(client_order_id="c-1", quantity="5"))
    assert ack == BrokerAck("sim-t1-1", "new")
    connected, accepted, filled = await take(stream, 3)
    assert isinstance(connected, StreamConnected) and not connected.reconnect
    assert (type(accepted), accepted.broker_order_id, accepted.client_order_id) == (OrderAccepted, "sim-t1-1", "c-1")  # type: ignore[union-attr]
    assert isinstance(filled, OrderFilled)
    assert (filled.execution_id, filled.quantity, filled.price, filled.broker_status) == ("sim-exec-t1-1", D(5), D(100), "filled")


async def test_partial_fill_event_says_partially_filled(broker: SimulatedBroker) -> None:
    stream = broker.events()
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="99", quantity="10"))
    assert broker.set_price("AAPL", "98", "4") == 1
    *_, filled = await take(stream, 3)
    assert (filled.quantity, filled.broker_status) == (D(4), "partially_filled")  # type: ignore[union-attr]


async def test_rejection_raises_broker_rejected_and_leaves_no_order(broker: SimulatedBroker) -> None:
    with pytest.raises(BrokerRejected, match="limit price is required"):
        await broker.submit(an_order(order_type=OrderType.LIMIT, client_order_id="bad"))
    assert await broker.find_by_client_id("bad") is None


async def test_find_by_client_id_finds_closed_orders_with_every_execution(broker: SimulatedBroker) -> None:
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="99", client_order_id="c-9", quantity="10"))
    broker.set_price("AAPL", "98", "4")
    broker.set_price("AAPL", "97")
    found = await broker.find_by_client_id("c-9")
    assert found is not None
    assert (found.status, found.broker_status, found.average_fill_price) == (OrderStatus.FILLED, "filled", D("97.4"))
    assert [(f.execution_id, f.quantity) for f in found.fills] == [("sim-exec-t1-1", D(4)), ("sim-exec-t1-2", D(6))]


async def test_open_orders_lists_only_what_is_still_working(broker: SimulatedBroker) -> None:
    await broker.submit(an_order())
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="90", client_order_id="resting"))
    assert [o.client_order_id for o in await broker.open_orders()] == ["resting"]


async def test_cancel_of_a_resting_order_is_confirmed_by_an_event(broker: SimulatedBroker) -> None:
    order = an_order(order_type=OrderType.LIMIT, limit="90")
    stream = broker.events()
    await broker.submit(order)
    await broker.cancel(order)
    *_, cancelled = await take(stream, 3)
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.broker_order_id, cancelled.broker_status) == ("sim-t1-1", "canceled")


async def test_cancel_of_a_filled_order_is_refused(broker: SimulatedBroker) -> None:
    order = an_order()
    await broker.submit(order)
    with pytest.raises(CancelRefused):
        await broker.cancel(order)


async def test_cancel_that_races_a_fill_comes_after_the_fill_on_the_stream(broker: SimulatedBroker) -> None:
    order = an_order(order_type=OrderType.LIMIT, limit="99", quantity="10")
    stream = broker.events()
    await broker.submit(order)
    broker.set_price("AAPL", "99", "6")  # executed at the broker; the OMS has not seen it yet
    await broker.cancel(order)
    events = await take(stream, 4)
    assert [type(e) for e in events[2:]] == [OrderFilled, OrderCancelled]
    found = await broker.find_by_client_id(order.client_order_id)
    assert (found.status, found.filled_quantity) == (OrderStatus.CANCELLED, D(6))  # type: ignore[union-attr]


async def test_positions_are_signed_with_the_average_entry_price(broker: SimulatedBroker) -> None:
    await broker.submit(an_order(quantity="10"))
    broker.set_price("AAPL", "110")
    await broker.submit(an_order(quantity="10"))
    await broker.submit(an_order(side=Side.SELL, quantity="5", symbol="MSFT"))
    assert await broker.positions() == [
        BrokerPosition("AAPL", D(20), D(105)),
        BrokerPosition("MSFT", D(-5), D(100)),
    ]


async def test_account_reports_cash_equity_and_buying_power_net_of_open_buys(broker: SimulatedBroker) -> None:
    await broker.submit(an_order(quantity="10"))
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="50", quantity="100", time_in_force=TimeInForce.GTC))
    broker.set_price("AAPL", "120", "0")
    account = await broker.account()
    assert (account.cash, account.equity, account.buying_power) == (D(999000), D(1000200), D(994000))


async def test_set_position_hook_makes_the_broker_disagree_with_the_service(broker: SimulatedBroker) -> None:
    broker.set_position("AAPL", "12", "101.5")
    assert await broker.positions() == [BrokerPosition("AAPL", D(12), D("101.5"))]


async def test_reference_price_is_the_configured_one_until_a_price_is_set(broker: SimulatedBroker) -> None:
    assert (broker.reference_price("AAPL"), broker.reference_price("UNKNOWN")) == (D(100), D(100))
    broker.set_price("AAPL", "187.25")
    assert broker.reference_price("AAPL") == D("187.25")


async def test_close_session_returns_the_expired_day_orders_with_an_event_each(broker: SimulatedBroker) -> None:
    stream = broker.events()
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="90"))
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="90", time_in_force=TimeInForce.GTC))
    assert broker.close_session() == ["sim-t1-1"]
    *_, expired = await take(stream, 4)
    assert (expired.broker_status, expired.reason) == ("expired", "expired at session close")  # type: ignore[union-attr]
    await assert_no_event(stream)


async def test_set_price_refuses_a_float_price(broker: SimulatedBroker) -> None:
    with pytest.raises(TypeError):
        broker.set_price("AAPL", 100.5)  # type: ignore[arg-type]


async def test_broker_refuses_work_before_start() -> None:
    with pytest.raises(RuntimeError, match="start"):
        await SimulatedBroker(SimulatorSettings()).submit(an_order())


async def test_set_price_with_an_empty_available_quantity_means_no_cap(broker: SimulatedBroker) -> None:
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="90", quantity="1000"))
    assert broker.set_price("AAPL", "90", "") == 1
    assert (await broker.find_by_client_id(broker.engine.ledger.orders["sim-t1-1"].client_order_id)).status is OrderStatus.FILLED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "changes",
    [{"reject_fraction": 1.5}, {"reject_fraction": 0.6, "unknown_outcome_fraction": 0.6}, {"default_price": D(0)}],
    ids=["fraction above one", "fractions adding above one", "zero default price"],
)
def test_settings_refuse_values_that_make_no_sense(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimulatorSettings(**changes)  # type: ignore[arg-type]
