"""The simulated paper broker through the gRPC API (issue 4): every order type in every time in
force, driven with SimulatorService.SetPrice and observed with GetOrder, StreamOrderUpdates and
GetPositions.

Fills arrive through the broker's event stream after PlaceOrder returns, so outcomes are
polled with `eventually`. What did not happen is never checked by waiting: SetPrice answers
how many fills it produced, synchronously, and a later price shows where the order did fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.config import replace
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

SYMBOL = "AAPL"
STREAM_BOUND_SECONDS = 10.0  # a bound against hanging, as generous as `eventually`'s; not a timing

DAY, GTC, IOC, FOK = pb.TIME_IN_FORCE_DAY, pb.TIME_IN_FORCE_GTC, pb.TIME_IN_FORCE_IOC, pb.TIME_IN_FORCE_FOK
RESTING = {"DAY": DAY, "GTC": GTC}
IMMEDIATE = {"IOC": IOC, "FOK": FOK}


@dataclass(frozen=True)
class Scenario:
    """A buy order of one type, with a price that leaves it untouched and one that fills it.

    away: placed at this price, the order rests (None for MARKET: it rests only while no
        quantity is available). reach: the order fills at exactly this price.
    """

    fields: dict[str, Any]
    away: str | None
    reach: str


SCENARIOS = {
    "MARKET": Scenario({"order_type": pb.ORDER_TYPE_MARKET}, away=None, reach="100"),
    # Below the limit: filled at the better price, not at the limit.
    "LIMIT": Scenario({"order_type": pb.ORDER_TYPE_LIMIT, "limit_price": "100"}, away="101", reach="99.5"),
    "STOP": Scenario({"order_type": pb.ORDER_TYPE_STOP, "stop_price": "100"}, away="99", reach="100.25"),
    "STOP_LIMIT": Scenario(
        {"order_type": pb.ORDER_TYPE_STOP_LIMIT, "stop_price": "100", "limit_price": "100.5"}, away="99", reach="100.25"
    ),
}


def matrix(times_in_force: dict[str, int]) -> list[Any]:
    return [
        pytest.param(scenario, tif, id=f"{type_name}-{tif_name}")
        for type_name, scenario in SCENARIOS.items()
        for tif_name, tif in times_in_force.items()
    ]


def by_type() -> list[Any]:
    return [pytest.param(scenario, id=name) for name, scenario in SCENARIOS.items()]


# --- helpers ---


async def set_price(client: Client, price: str, available: str = "") -> int:
    """Trade AAPL at `price`; returns how many fills it produced (known at once)."""
    request = sim.SetPriceRequest(symbol=SYMBOL, price=price, available_quantity=available)
    return (await client.simulator.SetPrice(request)).fills


async def set_price_away(client: Client, scenario: Scenario) -> None:
    """Make the market one in which the scenario's order cannot fill."""
    if scenario.away is None:
        assert await set_price(client, scenario.reach, available="0") == 0
    else:
        assert await set_price(client, scenario.away) == 0


async def place_resting(client: Client, scenario: Scenario, tif: int) -> pb.Order:
    """Place the scenario's order (10) where it cannot fill yet, and check that it is working."""
    await set_price_away(client, scenario)
    order = await client.place(time_in_force=tif, quantity="10", **scenario.fields)
    assert order.status == pb.ORDER_STATUS_SUBMITTED and order.broker_order_id, order
    return order


async def settled(client: Client, order_id: str, status: int) -> pb.Order:
    """The order once it has reached `status` (fills and cancels arrive after the RPC returns)."""
    return await eventually(lambda: client.get(order_id), lambda o: o.status == status)


async def updates_until(
    client: Client, done: Callable[[pb.StreamOrderUpdatesResponse], bool]
) -> list[pb.StreamOrderUpdatesResponse]:
    """StreamOrderUpdates from the beginning (after_sequence=0) up to the first update `done` accepts."""
    received: list[pb.StreamOrderUpdatesResponse] = []
    call = client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest(after_sequence=0))
    try:
        async with asyncio.timeout(STREAM_BOUND_SECONDS):
            async for update in call:
                received.append(update)
                if done(update):
                    return received
    except TimeoutError:
        pass
    finally:
        call.cancel()
    raise AssertionError(f"the awaited update never came; received: {received}")


def fills_in(updates: list[pb.StreamOrderUpdatesResponse], order_id: str | None = None) -> list[pb.Fill]:
    return [
        update.fill
        for update in updates
        if update.event_type == "fill"
        and update.HasField("fill")
        and (order_id is None or update.order.order_id == order_id)
    ]


def is_filled(order_id: str) -> Callable[[pb.StreamOrderUpdatesResponse], bool]:
    return lambda update: update.order.order_id == order_id and update.order.status == pb.ORDER_STATUS_FILLED


async def cancel(client: Client, order: pb.Order) -> pb.Order:
    return (await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=order.order_id))).order


# --- each type in each time in force: filled ---


@pytest.mark.parametrize(("scenario", "tif"), matrix(RESTING))
async def test_a_resting_order_fills_whole_at_the_price_that_reaches_it(client, scenario, tif) -> None:
    order = await place_resting(client, scenario, tif)
    assert await set_price(client, scenario.reach) == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.filled_quantity == "10"
    assert Decimal(filled.average_fill_price) == Decimal(scenario.reach)


@pytest.mark.parametrize(("scenario", "tif"), matrix(IMMEDIATE))
async def test_an_ioc_or_fok_order_fills_whole_at_once_at_the_current_price(client, scenario, tif) -> None:
    await set_price(client, scenario.reach)
    order = await client.place(time_in_force=tif, **scenario.fields)
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.filled_quantity == "10"
    assert Decimal(filled.average_fill_price) == Decimal(scenario.reach)


async def test_a_fok_order_fills_whole_when_the_available_quantity_is_exactly_its_quantity(client) -> None:
    await set_price(client, "100", available="10")
    order = await client.place(time_in_force=FOK, quantity="10")
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert (filled.filled_quantity, filled.average_fill_price) == ("10", "100")


# --- each type in each time in force: partly filled ---


@pytest.mark.parametrize(("scenario", "tif"), matrix(RESTING))
async def test_a_resting_order_capped_by_available_quantity_stays_partly_filled(client, scenario, tif) -> None:
    order = await place_resting(client, scenario, tif)
    assert await set_price(client, scenario.reach, available="4") == 1
    partly = await settled(client, order.order_id, pb.ORDER_STATUS_PARTIALLY_FILLED)
    assert partly.filled_quantity == "4"
    assert Decimal(partly.average_fill_price) == Decimal(scenario.reach)


@pytest.mark.parametrize("scenario", by_type())
async def test_an_ioc_order_fills_what_it_can_and_its_remainder_is_cancelled_with_the_reason(client, scenario) -> None:
    await set_price(client, scenario.reach, available="4")
    order = await client.place(time_in_force=IOC, **scenario.fields)
    done = await settled(client, order.order_id, pb.ORDER_STATUS_CANCELLED)
    assert done.filled_quantity == "4"
    assert Decimal(done.average_fill_price) == Decimal(scenario.reach)
    assert done.cancel_reason == "IOC: unfilled remainder cancelled"


@pytest.mark.parametrize("scenario", by_type())
async def test_a_fok_order_not_fully_fillable_is_cancelled_whole(client, scenario) -> None:
    await set_price(client, scenario.reach, available="9")
    order = await client.place(time_in_force=FOK, quantity="10", **scenario.fields)
    done = await settled(client, order.order_id, pb.ORDER_STATUS_CANCELLED)
    assert (done.filled_quantity, done.average_fill_price) == ("0", "")
    assert done.cancel_reason.startswith("FOK")


# --- each type in each time in force: cancelled ---


@pytest.mark.parametrize(("scenario", "tif"), matrix(RESTING))
async def test_a_client_cancel_of_a_resting_order_ends_it_cancelled_at_the_broker_too(client, scenario, tif) -> None:
    order = await place_resting(client, scenario, tif)
    await cancel(client, order)
    done = await settled(client, order.order_id, pb.ORDER_STATUS_CANCELLED)
    assert done.filled_quantity == "0" and done.cancel_reason
    assert await set_price(client, scenario.reach) == 0


@pytest.mark.parametrize("scenario", by_type())
async def test_a_day_order_expires_on_close_session_as_cancelled_with_the_expiry_reason(client, scenario) -> None:
    order = await place_resting(client, scenario, DAY)
    closed = await client.simulator.CloseSession(sim.CloseSessionRequest())
    assert list(closed.expired_broker_order_ids) == [order.broker_order_id]
    done = await settled(client, order.order_id, pb.ORDER_STATUS_CANCELLED)
    assert done.cancel_reason == "expired at session close"
    assert done.broker_status == "expired"


@pytest.mark.parametrize("scenario", by_type())
async def test_a_gtc_order_keeps_working_after_close_session(client, scenario) -> None:
    order = await place_resting(client, scenario, GTC)
    closed = await client.simulator.CloseSession(sim.CloseSessionRequest())
    assert list(closed.expired_broker_order_ids) == []
    assert await set_price(client, scenario.reach) == 1
    await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)


@pytest.mark.parametrize(("scenario", "tif"), matrix(IMMEDIATE))
async def test_an_ioc_or_fok_order_that_cannot_fill_at_once_is_cancelled_and_never_fills_later(
    client, scenario, tif
) -> None:
    await set_price_away(client, scenario)
    order = await client.place(time_in_force=tif, **scenario.fields)
    done = await settled(client, order.order_id, pb.ORDER_STATUS_CANCELLED)
    assert done.filled_quantity == "0"
    assert done.cancel_reason.startswith("IOC" if tif == IOC else "FOK")
    assert await set_price(client, scenario.reach) == 0


async def test_a_partly_filled_day_order_expiring_keeps_its_fills(client) -> None:
    limit = SCENARIOS["LIMIT"]
    order = await place_resting(client, limit, DAY)
    await set_price(client, limit.reach, available="4")
    await settled(client, order.order_id, pb.ORDER_STATUS_PARTIALLY_FILLED)
    await client.simulator.CloseSession(sim.CloseSessionRequest())
    done = await settled(client, order.order_id, pb.ORDER_STATUS_CANCELLED)
    assert (done.filled_quantity, done.average_fill_price) == ("4", limit.reach)
    assert done.cancel_reason == "expired at session close"


async def test_a_client_cancel_of_a_partly_filled_order_keeps_its_fills(client) -> None:
    limit = SCENARIOS["LIMIT"]
    order = await place_resting(client, limit, GTC)
    await set_price(client, limit.reach, available="4")
    await settled(client, order.order_id, pb.ORDER_STATUS_PARTIALLY_FILLED)
    await cancel(client, order)
    done = await settled(client, order.order_id, pb.ORDER_STATUS_CANCELLED)
    assert (done.filled_quantity, done.average_fill_price) == ("4", limit.reach)
    assert await set_price(client, limit.reach) == 0


async def test_a_cancel_of_a_filled_order_is_a_failed_precondition(client) -> None:
    await set_price(client, "100")
    order = await client.place()
    await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await cancel(client, order)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await client.get(order.order_id)).status == pb.ORDER_STATUS_FILLED


async def test_cancel_at_broker_of_an_unknown_broker_order_is_not_found(client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.simulator.CancelAtBroker(sim.CancelAtBrokerRequest(broker_order_id="sim-no-such-order"))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert "sim-no-such-order" in refused.value.details()


async def test_cancel_at_broker_of_a_filled_order_is_a_failed_precondition_and_changes_nothing(client) -> None:
    await set_price(client, "100")
    order = await client.place()
    await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    filled = await client.get(order.order_id)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.simulator.CancelAtBroker(sim.CancelAtBrokerRequest(broker_order_id=filled.broker_order_id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "filled" in refused.value.details().lower()
    assert (await client.get(order.order_id)).status == pb.ORDER_STATUS_FILLED


# --- where limits fill and stops trigger ---


async def test_a_buy_limit_fills_only_when_the_price_falls_to_its_limit(client) -> None:
    await set_price(client, "101")
    order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100", time_in_force=GTC)
    assert await set_price(client, "100.01") == 0
    assert await set_price(client, "100") == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.average_fill_price == "100"


async def test_a_sell_limit_fills_only_when_the_price_rises_to_its_limit(client) -> None:
    await set_price(client, "99")
    order = await client.place(side=pb.SIDE_SELL, order_type=pb.ORDER_TYPE_LIMIT, limit_price="100", time_in_force=GTC)
    assert await set_price(client, "99.99") == 0
    assert await set_price(client, "100") == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.average_fill_price == "100"


async def test_a_sell_limit_fills_at_a_higher_price_than_its_limit(client) -> None:
    await set_price(client, "99")
    order = await client.place(side=pb.SIDE_SELL, order_type=pb.ORDER_TYPE_LIMIT, limit_price="100", time_in_force=GTC)
    assert await set_price(client, "100.75") == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.average_fill_price == "100.75"


async def test_a_buy_stop_triggers_when_the_price_rises_to_its_stop(client) -> None:
    await set_price(client, "99")
    order = await client.place(order_type=pb.ORDER_TYPE_STOP, stop_price="100", time_in_force=GTC)
    assert await set_price(client, "99.99") == 0
    assert await set_price(client, "100") == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.average_fill_price == "100"


async def test_a_sell_stop_triggers_when_the_price_falls_to_its_stop(client) -> None:
    await set_price(client, "101")
    order = await client.place(side=pb.SIDE_SELL, order_type=pb.ORDER_TYPE_STOP, stop_price="100", time_in_force=GTC)
    assert await set_price(client, "100.01") == 0
    assert await set_price(client, "100") == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.average_fill_price == "100"


async def test_a_triggered_buy_stop_limit_fills_only_at_or_below_its_limit(client) -> None:
    await set_price(client, "99")
    order = await client.place(
        order_type=pb.ORDER_TYPE_STOP_LIMIT, stop_price="100", limit_price="100.5", time_in_force=GTC
    )
    assert await set_price(client, "101") == 0  # triggered, but above the limit
    assert await set_price(client, "99.8") == 1  # below the stop: the triggered order works as a limit
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.average_fill_price == "99.8"


async def test_a_triggered_sell_stop_limit_fills_only_at_or_above_its_limit(client) -> None:
    await set_price(client, "101")
    order = await client.place(
        side=pb.SIDE_SELL, order_type=pb.ORDER_TYPE_STOP_LIMIT, stop_price="100", limit_price="99.5", time_in_force=GTC
    )
    assert await set_price(client, "99") == 0  # triggered, but below the limit
    assert await set_price(client, "100.2") == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.average_fill_price == "100.2"


# --- partial fills, caps, executions, positions ---


async def test_an_order_filled_in_two_parts_has_exactly_two_fills_and_the_exact_average_price(client) -> None:
    await set_price(client, "190")
    order = await client.place(quantity="100", order_type=pb.ORDER_TYPE_LIMIT, limit_price="187.5", time_in_force=GTC)
    assert await set_price(client, "187.25", available="30") == 1
    await settled(client, order.order_id, pb.ORDER_STATUS_PARTIALLY_FILLED)
    assert await set_price(client, "187.10", available="70") == 1
    filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
    assert (filled.filled_quantity, filled.average_fill_price) == ("100", "187.145")
    fills = fills_in(await updates_until(client, is_filled(order.order_id)), order.order_id)
    assert [(Decimal(f.quantity), Decimal(f.price)) for f in fills] == [
        (Decimal("30"), Decimal("187.25")),
        (Decimal("70"), Decimal("187.10")),
    ]
    assert all(f.execution_id for f in fills)


async def test_available_quantity_caps_fills_across_orders_in_order_of_arrival(client) -> None:
    await set_price(client, "101")
    first = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100", time_in_force=GTC)
    second = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100", time_in_force=GTC)
    assert await set_price(client, "100", available="15") == 2
    first_done = await settled(client, first.order_id, pb.ORDER_STATUS_FILLED)
    second_done = await settled(client, second.order_id, pb.ORDER_STATUS_PARTIALLY_FILLED)
    assert (first_done.filled_quantity, second_done.filled_quantity) == ("10", "5")


async def test_every_fill_carries_its_own_execution_id(client) -> None:
    await set_price(client, "101")
    resting = await client.place(quantity="100", order_type=pb.ORDER_TYPE_LIMIT, limit_price="100", time_in_force=GTC)
    await set_price(client, "100", available="30")
    await set_price(client, "99", available="70")
    await set_price(client, "99.5")  # no cap: the 70 above are used up
    market = await client.place(quantity="5")
    await settled(client, resting.order_id, pb.ORDER_STATUS_FILLED)
    await settled(client, market.order_id, pb.ORDER_STATUS_FILLED)
    seen: set[str] = set()

    def both_filled(update: pb.StreamOrderUpdatesResponse) -> bool:
        if update.order.status == pb.ORDER_STATUS_FILLED:
            seen.add(update.order.order_id)
        return seen == {resting.order_id, market.order_id}

    fills = fills_in(await updates_until(client, both_filled))
    ids = [f.execution_id for f in fills]
    assert len(ids) == 3 and all(ids)
    assert len(set(ids)) == 3


async def test_positions_show_the_filled_quantity_at_the_exact_average_price(client) -> None:
    await set_price(client, "187.25")
    first = await client.place(quantity="30")
    await settled(client, first.order_id, pb.ORDER_STATUS_FILLED)
    await set_price(client, "187.10")
    second = await client.place(quantity="70")
    await settled(client, second.order_id, pb.ORDER_STATUS_FILLED)

    async def aapl(strategy_id: str) -> list[tuple[str, str]]:
        response = await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id=strategy_id))
        return [(p.quantity, p.average_entry_price) for p in response.positions if p.symbol == SYMBOL]

    assert await eventually(lambda: aapl(""), lambda held: held == [("100", "187.145")])
    assert await eventually(lambda: aapl("momentum_v1"), lambda held: held == [("100", "187.145")])


# --- rejection ---


async def test_a_broker_rejection_is_a_rejected_order_not_an_rpc_error(database_url, tmp_path) -> None:
    settings = settings_for(database_url, tmp_path)
    settings = replace(settings, simulator=replace(settings.simulator, reject_fraction=1.0))
    async with running(settings) as client:
        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100", time_in_force=GTC)
        assert order.status == pb.ORDER_STATUS_REJECTED
        assert order.reject_reason.startswith("BROKER_REJECTED:")
        assert (await client.get(order.order_id)).status == pb.ORDER_STATUS_REJECTED


# --- restart ---


async def test_a_resting_limit_order_survives_restarts_and_fills_on_a_later_price(settings) -> None:
    async with running(settings) as client:
        await set_price(client, "188.4")
        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="185", time_in_force=GTC)
        assert order.status == pb.ORDER_STATUS_SUBMITTED
    async with running(settings) as client:
        assert (await client.get(order.order_id)).status == pb.ORDER_STATUS_SUBMITTED
    # This start reads the broker's state from the snapshot the previous start compacted.
    async with running(settings) as client:
        assert (await client.get(order.order_id)).status == pb.ORDER_STATUS_SUBMITTED
        assert await set_price(client, "184.9") == 1
        filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
        assert (filled.filled_quantity, filled.average_fill_price) == ("10", "184.9")


async def test_the_price_set_before_restarts_is_still_in_force_after_them(settings) -> None:
    async with running(settings) as client:
        await set_price(client, "188.4")
    async with running(settings):
        pass  # the next start reads the price from the snapshot this one compacted
    async with running(settings) as client:
        order = await client.place(quantity="10")
        filled = await settled(client, order.order_id, pb.ORDER_STATUS_FILLED)
        assert filled.average_fill_price == "188.4"


# --- SetPrice validation ---


@pytest.mark.parametrize(
    ("request_fields", "bad_field"),
    [
        ({"symbol": "", "price": "100"}, "symbol"),
        ({"symbol": "NOT A SYMBOL", "price": "100"}, "symbol"),
        ({"symbol": SYMBOL, "price": ""}, "price"),
        ({"symbol": SYMBOL, "price": "abc"}, "price"),
        ({"symbol": SYMBOL, "price": "0"}, "price"),
        ({"symbol": SYMBOL, "price": "-1"}, "price"),
        ({"symbol": SYMBOL, "price": "NaN"}, "price"),
        ({"symbol": SYMBOL, "price": "Infinity"}, "price"),
        ({"symbol": SYMBOL, "price": "1e30"}, "price"),
        ({"symbol": SYMBOL, "price": "0.0000000000001"}, "price"),
        ({"symbol": SYMBOL, "price": "100", "available_quantity": "-1"}, "available_quantity"),
        ({"symbol": SYMBOL, "price": "100", "available_quantity": "lots"}, "available_quantity"),
    ],
)
async def test_set_price_with_a_bad_field_is_an_invalid_argument_naming_it(client, request_fields, bad_field) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.simulator.SetPrice(sim.SetPriceRequest(**request_fields))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_field in refused.value.details()
    bad_request = error_details_pb2.BadRequest()
    assert rpc_status.from_call(refused.value).details[0].Unpack(bad_request)
    assert [violation.field for violation in bad_request.field_violations] == [bad_field]
