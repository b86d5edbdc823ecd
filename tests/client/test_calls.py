"""The async client's other calls against a real server: decimals exact both ways, floats
refused before anything is sent, errors with their code and field violations, pages followed,
reconcile, risk and the simulator."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest

from execution_client import ExecutionClient, FailedPrecondition, InvalidArgument, NotFound
from tests.waiting import eventually

ORDER = {"symbol": "AAPL", "side": "BUY", "strategy_id": "momentum_v1"}


async def test_decimals_round_trip_exactly(client: ExecutionClient) -> None:
    order = await client.place_order(**ORDER, quantity=Decimal("0.000001"), order_type="LIMIT",
                                     limit_price=Decimal("0.000001"), time_in_force="GTC")
    assert order.quantity == Decimal("0.000001") and str(order.quantity) == "0.000001"
    assert order.limit_price == Decimal("0.000001")
    fetched = await client.get_order(order.order_id)
    assert (fetched.quantity, fetched.limit_price) == (Decimal("0.000001"), Decimal("0.000001"))


async def test_an_exponent_is_sent_as_the_plain_decimal_it_means(client: ExecutionClient) -> None:
    order = await client.place_order(**ORDER, quantity=Decimal("1E-6"), order_type="LIMIT",
                                     limit_price=Decimal("1.23456789012E+2"), time_in_force="GTC")
    assert order.quantity == Decimal("0.000001") and order.limit_price == Decimal("123.456789012")


async def test_many_digits_survive_the_trip(client: ExecutionClient) -> None:
    price = Decimal("123456789.123456789012")  # 21 significant digits: no float holds it
    order = await client.place_order(**ORDER, quantity="7", order_type="LIMIT", limit_price=price, time_in_force="GTC")
    assert order.limit_price == price


@pytest.mark.parametrize("argument", ["quantity", "limit_price", "stop_price"])
async def test_a_float_is_refused_naming_the_argument(client: ExecutionClient, argument: str) -> None:
    arguments = {**ORDER, "quantity": Decimal("1"), "order_type": "STOP_LIMIT", "limit_price": "10", "stop_price": "9",
                 argument: 0.1}
    with pytest.raises(TypeError, match=argument):
        await client.place_order(**arguments)
    assert [order async for order in client.list_orders()] == []  # nothing was sent


async def test_a_float_price_for_the_simulator_is_refused(client: ExecutionClient) -> None:
    with pytest.raises(TypeError, match="price"):
        await client.set_price("AAPL", 187.25)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"side": "HOLD"}, "side must be one of BUY, SELL"),
    ({"order_type": "ICEBERG"}, "order_type must be one of"),
    ({"quantity": "ten"}, "quantity must be a decimal number"),
    ({"quantity": Decimal("NaN")}, "quantity must be a finite decimal"),
    ({"quantity": True}, "quantity must be a Decimal, int or str"),
])
async def test_bad_arguments_are_refused_before_sending(client: ExecutionClient, arguments: dict, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        await client.place_order(**{**ORDER, "quantity": 1, **arguments})


async def test_an_invalid_request_carries_its_code_and_field_violations(client: ExecutionClient) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await client.place_order(symbol="NOT A SYMBOL!", side="BUY", quantity="5", strategy_id="has space")
    error = raised.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT and error.message
    assert {violation.field for violation in error.violations} == {"symbol", "strategy_id"}
    assert all(violation.description for violation in error.violations)
    assert "symbol" in str(error) and "strategy_id" in str(error)
    assert [order async for order in client.list_orders()] == []  # and nothing was written


async def test_a_negative_quantity_is_a_violation_of_quantity(client: ExecutionClient) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await client.place_order(**ORDER, quantity=Decimal("-5"))
    assert [violation.field for violation in raised.value.violations] == ["quantity"]


async def test_cancelling_a_filled_order_is_a_failed_precondition(client: ExecutionClient) -> None:
    order = await client.place_order(**ORDER, quantity=1)
    await eventually(lambda: client.get_order(order.order_id), lambda o: o.status == "FILLED")
    with pytest.raises(FailedPrecondition) as raised:
        await client.cancel_order(order.order_id)
    assert raised.value.code is grpc.StatusCode.FAILED_PRECONDITION and "FILLED" in raised.value.message


async def test_list_orders_follows_the_pages(client: ExecutionClient) -> None:
    placed = [await client.place_order(**ORDER, quantity=1, client_order_id=f"page-{n}") for n in range(7)]
    listed = [order async for order in client.list_orders(strategy_id="momentum_v1", page_size=2)]
    assert sorted(o.order_id for o in listed) == sorted(o.order_id for o in placed)
    assert len(listed) == len({o.order_id for o in listed}) == 7


async def test_list_orders_filters_by_status_and_symbol(client: ExecutionClient) -> None:
    resting = await client.place_order(**ORDER, quantity=1, order_type="LIMIT", limit_price="1", time_in_force="GTC")
    await eventually(lambda: client.get_order(resting.order_id), lambda o: o.status == "SUBMITTED")
    market = await client.place_order(**ORDER, quantity=1)
    await eventually(lambda: client.get_order(market.order_id), lambda o: o.status == "FILLED")
    submitted = [o.order_id async for o in client.list_orders(status="submitted")]
    either = [o.order_id async for o in client.list_orders(status=["SUBMITTED", "FILLED"], symbol="AAPL")]
    assert submitted == [resting.order_id]
    assert sorted(either) == sorted([resting.order_id, market.order_id])
    assert [o async for o in client.list_orders(symbol="MSFT")] == []


async def test_reconcile_finds_a_position_only_the_broker_has(client: ExecutionClient) -> None:
    clean = await client.reconcile()
    assert clean.has_discrepancies is False and clean.discrepancies == ()
    await client.set_broker_position("MSFT", "5", "410")
    found = await client.reconcile()
    assert found.has_discrepancies and found.run_id > clean.run_id
    assert [(d.kind, d.symbol) for d in found.discrepancies] == [("POSITION_MISSING_LOCALLY", "MSFT")]
    assert found.checked_at.tzinfo is not None and found.trigger
    runs = await client.list_reconcile_runs(limit=5)
    assert [run.run_id for run in runs][:2] == [found.run_id, clean.run_id]


async def test_the_kill_switch_and_the_risk_status(client: ExecutionClient) -> None:
    assert (await client.get_risk_status()).trading_state == "ACTIVE"
    resting = await client.place_order(**ORDER, quantity=1, order_type="LIMIT", limit_price="1", time_in_force="GTC")
    await eventually(lambda: client.get_order(resting.order_id), lambda o: o.status == "SUBMITTED")
    engaged = await client.set_kill_switch(True, reason="desk halt", cancel_open_orders=True)
    assert engaged.kill_switch_engaged and engaged.trading_state == "HALTED"
    assert engaged.cancelled_order_ids == (resting.order_id,) and engaged.cancel_failures == ()
    status = await client.get_risk_status()
    assert status.kill_switch_engaged and status.kill_switch_reason == "desk halt"
    rejected = await client.place_order(**ORDER, quantity=1)
    assert rejected.status == "REJECTED" and rejected.reject_reason
    released = await client.set_kill_switch(False)
    assert not released.kill_switch_engaged and released.trading_state == "ACTIVE"
    actions = await client.list_operator_actions(limit=10)
    assert actions[0].action == "SetKillSwitch" and [a.action for a in actions].count("SetKillSwitch") == 2
    assert actions[0].actor == "anonymous" and actions[0].at.tzinfo is not None
    assert isinstance(actions[0].details, dict) and actions[0].id > actions[-1].id


async def test_risk_limits_are_decimals(client: ExecutionClient) -> None:
    limits = await client.get_risk_limits("momentum_v1")
    assert limits.strategy_id == "momentum_v1" and limits.limits
    assert all(value is None or isinstance(value, Decimal) for value in limits.limits.values())


async def test_the_simulator_controls(client: ExecutionClient) -> None:
    day = await client.place_order(**ORDER, quantity=1, order_type="LIMIT", limit_price="1")
    day = await eventually(lambda: client.get_order(day.order_id), lambda o: o.status == "SUBMITTED")
    gtc = await client.place_order(**ORDER, quantity=1, order_type="LIMIT", limit_price="1", time_in_force="GTC")
    gtc = await eventually(lambda: client.get_order(gtc.order_id), lambda o: o.status == "SUBMITTED")
    assert await client.close_session() == [day.broker_order_id]
    await client.cancel_at_broker(gtc.broker_order_id)  # behind the service's back: reconcile sees it
    found = await client.reconcile()
    assert [(d.kind, d.order_id) for d in found.discrepancies] == [("ORDER_STATUS", gtc.order_id)]
    await client.lose_events(1)
    priced = await client.set_price("AAPL", Decimal("180.000001"), available_quantity=Decimal("30"))
    assert priced.price == Decimal("180.000001") and priced.fills == 0
    with pytest.raises(NotFound) as raised:
        await client.cancel_at_broker("sim-nope-1")
    assert "sim-nope-1" in str(raised.value)
    with pytest.raises(FailedPrecondition):
        await client.cancel_at_broker(gtc.broker_order_id)  # cancelled above: no longer open
