"""A strategy token sees and acts on its own strategies only: orders, lists, streams and
positions, against a real server and database. Operators see everything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
import uuid

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.domain.positions import Position, combined
from tests.auth.kit import DESK_TOKEN, MOMENTUM_TOKEN, OPERATOR_TOKEN, auth_settings, bearer
from tests.harness import Client, running
from tests.waiting import eventually

OPS, MOMENTUM, DESK = bearer(OPERATOR_TOKEN), bearer(MOMENTUM_TOKEN), bearer(DESK_TOKEN)


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[Client]:
    async with running(auth_settings(database_url, tmp_path)) as client:
        yield client


async def _rest(client: Client, strategy_id: str, metadata=OPS, client_order_id: str = "") -> pb.Order:
    """A GTC limit buy far below the price: it stays open."""
    request = pb.PlaceOrderRequest(
        client_order_id=client_order_id, strategy_id=strategy_id, symbol="AAPL", side=pb.SIDE_BUY, quantity="1",
        order_type=pb.ORDER_TYPE_LIMIT, limit_price="1", time_in_force=pb.TIME_IN_FORCE_GTC,
    )
    return (await client.execution.PlaceOrder(request, metadata=metadata)).order


async def _refusal(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    return refused.value


def _as_seen(error: grpc.aio.AioRpcError) -> tuple:
    return error.code(), error.details(), tuple(error.trailing_metadata() or ())


# --- orders ---


async def test_placing_for_another_strategy_is_permission_denied_naming_strategy_id_and_writes_nothing(client) -> None:
    request = pb.PlaceOrderRequest(strategy_id="pairs", symbol="AAPL", side=pb.SIDE_BUY, quantity="1",
                                   order_type=pb.ORDER_TYPE_MARKET, client_order_id="not-mine")
    refused = await _refusal(client.execution.PlaceOrder(request, metadata=MOMENTUM))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "strategy_id" in refused.details()
    listed = await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=OPS)
    assert list(listed.orders) == []


async def test_another_strategy_s_order_is_not_found_exactly_as_one_that_does_not_exist(client) -> None:
    """By client order id (the caller names it, so the same reference can be asked before the
    order exists and after): the same code, message and trailers, byte for byte."""
    get = pb.GetOrderRequest(client_order_id="pairs-1")
    cancel = pb.CancelOrderRequest(client_order_id="pairs-1")
    missing_get = _as_seen(await _refusal(client.execution.GetOrder(get, metadata=MOMENTUM)))
    missing_cancel = _as_seen(await _refusal(client.execution.CancelOrder(cancel, metadata=MOMENTUM)))
    assert missing_get[0] == missing_cancel[0] == grpc.StatusCode.NOT_FOUND

    order = await _rest(client, "pairs", metadata=DESK, client_order_id="pairs-1")
    assert _as_seen(await _refusal(client.execution.GetOrder(get, metadata=MOMENTUM))) == missing_get
    assert _as_seen(await _refusal(client.execution.CancelOrder(cancel, metadata=MOMENTUM))) == missing_cancel
    still = (await client.execution.GetOrder(pb.GetOrderRequest(order_id=order.order_id), metadata=DESK)).order
    assert still.status == pb.ORDER_STATUS_SUBMITTED  # the cancel did nothing


async def test_another_strategy_s_order_id_is_not_found_as_an_unknown_id_is(client) -> None:
    order = await _rest(client, "pairs", metadata=DESK)
    unknown = str(uuid.uuid4())  # well formed, and no order has it
    for call, request in ((client.execution.GetOrder, pb.GetOrderRequest),
                          (client.execution.CancelOrder, pb.CancelOrderRequest)):
        theirs = await _refusal(call(request(order_id=order.order_id), metadata=MOMENTUM))
        none = await _refusal(call(request(order_id=unknown), metadata=MOMENTUM))
        assert theirs.code() == none.code() == grpc.StatusCode.NOT_FOUND
        assert theirs.details().replace(order.order_id, unknown) == none.details()
    assert (await client.execution.GetOrder(pb.GetOrderRequest(order_id=order.order_id), metadata=OPS)).order.order_id


async def test_a_strategy_token_gets_and_cancels_its_own_orders(client) -> None:
    order = await _rest(client, "mean_rev", metadata=DESK)
    assert (await client.execution.GetOrder(pb.GetOrderRequest(order_id=order.order_id), metadata=DESK)).order == order
    cancelled = (await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=order.order_id), metadata=DESK)).order
    assert cancelled.order_id == order.order_id


# --- lists ---


async def test_list_orders_without_a_filter_shows_only_the_caller_s_strategies(client) -> None:
    placed = {strategy: await _rest(client, strategy) for strategy in ("momentum_v1", "pairs", "mean_rev", "other")}
    mine = await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=MOMENTUM)
    assert [o.order_id for o in mine.orders] == [placed["momentum_v1"].order_id]
    desk = await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=DESK)
    assert {o.strategy_id for o in desk.orders} == {"pairs", "mean_rev"}
    everything = await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=OPS)
    assert len(everything.orders) == 4


async def test_list_orders_pages_through_a_token_s_strategies_only(client) -> None:
    for strategy in ("pairs", "momentum_v1", "mean_rev", "momentum_v1", "pairs"):
        await _rest(client, strategy)
    seen, token = [], ""
    while True:
        page = await client.execution.ListOrders(pb.ListOrdersRequest(page_size=1, page_token=token), metadata=DESK)
        seen += [o.strategy_id for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["pairs", "mean_rev", "pairs"]


async def test_list_orders_filtered_for_another_strategy_is_permission_denied(client) -> None:
    refused = await _refusal(client.execution.ListOrders(pb.ListOrdersRequest(strategy_id="pairs"), metadata=MOMENTUM))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED and "strategy_id" in refused.details()
    own = await client.execution.ListOrders(pb.ListOrdersRequest(strategy_id="pairs"), metadata=DESK)
    assert list(own.orders) == []


# --- streams ---


async def _strategies_streamed(client: Client, metadata, last_order_id: str, batches: bool) -> list[str]:
    """The strategies of every update the caller's unfiltered stream delivers from the start,
    up to the update of `last_order_id` (placed last, so everything before it has been seen)."""
    seen: list[str] = []
    if batches:
        call = client.execution.StreamOrderUpdateBatches(pb.StreamOrderUpdateBatchesRequest(), metadata=metadata, timeout=30)
    else:
        call = client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest(), metadata=metadata, timeout=30)
    try:
        async for message in call:
            updates = list(message.updates) if batches else [message]
            for update in updates:
                seen.append(update.order.strategy_id)
                if update.order.order_id == last_order_id:
                    return seen
    finally:
        call.cancel()
    raise AssertionError("the stream ended")


@pytest.mark.parametrize("batches", [False, True], ids=["StreamOrderUpdates", "StreamOrderUpdateBatches"])
async def test_an_unfiltered_stream_carries_only_the_caller_s_strategies(client, batches: bool) -> None:
    for strategy in ("momentum_v1", "pairs", "other", "mean_rev", "momentum_v1"):
        await _rest(client, strategy)
    last = await _rest(client, "mean_rev")
    seen = await _strategies_streamed(client, DESK, last.order_id, batches)
    assert set(seen) == {"pairs", "mean_rev"} and len(seen) >= 3
    everything = await _strategies_streamed(client, OPS, last.order_id, batches)
    assert set(everything) == {"momentum_v1", "pairs", "other", "mean_rev"}


@pytest.mark.parametrize("batches", [False, True], ids=["StreamOrderUpdates", "StreamOrderUpdateBatches"])
async def test_a_stream_filtered_for_another_strategy_is_permission_denied(client, batches: bool) -> None:
    if batches:
        call = client.execution.StreamOrderUpdateBatches(
            pb.StreamOrderUpdateBatchesRequest(strategy_id="pairs"), metadata=MOMENTUM, timeout=30)
    else:
        call = client.execution.StreamOrderUpdates(
            pb.StreamOrderUpdatesRequest(strategy_id="pairs"), metadata=MOMENTUM, timeout=30)
    refused = await _refusal(call.read())
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED and "strategy_id" in refused.details()


# --- positions ---


async def _buy(client: Client, strategy_id: str, quantity: str, price: str) -> None:
    await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price=price), metadata=OPS)
    request = pb.PlaceOrderRequest(strategy_id=strategy_id, symbol="AAPL", side=pb.SIDE_BUY, quantity=quantity,
                                   order_type=pb.ORDER_TYPE_MARKET)
    order = (await client.execution.PlaceOrder(request, metadata=OPS)).order
    await eventually(
        lambda: client.execution.GetOrder(pb.GetOrderRequest(order_id=order.order_id), metadata=OPS),
        lambda response: response.order.status == pb.ORDER_STATUS_FILLED,
    )


def _domain(position: pb.Position) -> Position:
    average = Decimal(position.average_entry_price) if position.average_entry_price else None
    return Position(position.symbol, Decimal(position.quantity), average, Decimal(position.realized_pnl or "0"))


async def test_positions_without_a_strategy_are_the_sum_over_the_caller_s_strategies_not_the_account(client) -> None:
    await _buy(client, "pairs", "10", "100")
    await _buy(client, "mean_rev", "30", "120")
    await _buy(client, "momentum_v1", "100", "150")

    async def positions(metadata, strategy_id: str = "") -> list[pb.Position]:
        response = await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id=strategy_id), metadata=metadata)
        return list(response.positions)

    desk = await eventually(lambda: positions(DESK), lambda found: [p.quantity for p in found] == ["40"])
    parts = [_domain(p) for strategy in ("pairs", "mean_rev") for p in await positions(OPS, strategy)]
    assert _domain(desk[0]) == combined("AAPL", parts)
    assert Decimal(desk[0].average_entry_price) == Decimal("115")  # (10 × 100 + 30 × 120) / 40
    assert [p.quantity for p in await positions(MOMENTUM)] == ["100"]
    account = await eventually(lambda: positions(OPS), lambda found: [p.quantity for p in found] == ["140"])
    assert account[0].quantity == "140"


async def test_positions_of_another_strategy_are_permission_denied(client) -> None:
    refused = await _refusal(client.execution.GetPositions(pb.GetPositionsRequest(strategy_id="pairs"), metadata=MOMENTUM))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED and "strategy_id" in refused.details()
    assert list((await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id="pairs"), metadata=DESK)).positions) == []


async def test_a_client_order_id_taken_by_another_strategy_says_nothing_of_that_order(client) -> None:
    theirs = await _rest(client, "pairs", metadata=DESK, client_order_id="shared-1")
    refused = await _refusal(_rest(client, "momentum_v1", metadata=MOMENTUM, client_order_id="shared-1"))
    assert refused.code() == grpc.StatusCode.ALREADY_EXISTS
    assert theirs.order_id not in refused.details() and "strategy_id" not in refused.details()
    assert theirs.order_id.encode() not in b"".join(
        value if isinstance(value, bytes) else value.encode() for _, value in refused.trailing_metadata() or ())
    # The same token's own strategies keep the full answer.
    mine = await _rest(client, "pairs", metadata=DESK, client_order_id="desk-1")
    own = await _refusal(_rest(client, "mean_rev", metadata=DESK, client_order_id="desk-1"))
    assert own.code() == grpc.StatusCode.ALREADY_EXISTS and mine.order_id in own.details()
