"""The order path through the gRPC API: place, idempotency, cancel, list, unknown outcomes."""

from __future__ import annotations

import asyncio
from datetime import UTC
from decimal import Decimal

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.config import replace
from execution_server.app import Application
from execution_server.brokers.base import BrokerAck
from execution_server.brokers.simulated import SimulatedBroker
from execution_server.brokers.factory import build_broker
from execution_server.domain.orders import Order
from tests.harness import Client, running, settings_for
from tests.waiting import eventually


class CountingBroker(SimulatedBroker):
    """The real simulated broker, counting what reaches it."""

    submissions: list[str]

    async def submit(self, order: Order) -> BrokerAck:
        self.submissions.append(order.client_order_id)
        return await super().submit(order)


def counting_broker(settings) -> CountingBroker:
    broker = build_broker(settings)
    broker.__class__ = CountingBroker
    broker.submissions = []
    return broker  # type: ignore[return-value]


async def status_of(client: Client, order_id: str) -> int:
    return (await client.get(order_id)).status


async def test_market_order_is_submitted_then_filled_at_the_price(client) -> None:
    await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="187.25"))
    order = await client.place(quantity="10")
    assert order.order_id and order.broker_order_id
    assert order.status in (pb.ORDER_STATUS_SUBMITTED, pb.ORDER_STATUS_FILLED)
    filled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    assert (filled.filled_quantity, filled.average_fill_price) == ("10", "187.25")


async def test_repeated_place_returns_the_same_order(client) -> None:
    first = await client.place(client_order_id="retry-1", order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
    again = await client.place(client_order_id="retry-1", order_type=pb.ORDER_TYPE_LIMIT, limit_price="50.00")
    assert again.order_id == first.order_id
    listed = await client.execution.ListOrders(pb.ListOrdersRequest())
    assert len(listed.orders) == 1


async def test_without_a_client_order_id_the_service_assigns_one_per_order(client) -> None:
    first = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
    second = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
    assert first.client_order_id and second.client_order_id
    assert first.client_order_id != second.client_order_id and first.order_id != second.order_id
    found = await client.execution.GetOrder(pb.GetOrderRequest(client_order_id=first.client_order_id))
    assert found.order.order_id == first.order_id


async def test_same_client_order_id_with_other_fields_is_already_exists(client) -> None:
    await client.place(client_order_id="dup-1", quantity="10")
    with pytest.raises(grpc.aio.AioRpcError) as conflict:
        await client.place(client_order_id="dup-1", quantity="11")
    assert conflict.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "quantity" in conflict.value.details()


async def test_fifty_concurrent_places_make_one_order_and_one_submission(settings) -> None:
    broker = counting_broker(settings)
    app = Application(settings, broker=broker)
    port = await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            from execution.v1 import execution_pb2_grpc

            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            request = pb.PlaceOrderRequest(
                client_order_id="burst-1", strategy_id="s", symbol="MSFT", side=pb.SIDE_BUY,
                quantity="5", order_type=pb.ORDER_TYPE_LIMIT, limit_price="1",
            )
            responses = await asyncio.gather(*(stub.PlaceOrder(request) for _ in range(50)))
            assert len({response.order.order_id for response in responses}) == 1
            listed = await stub.ListOrders(pb.ListOrdersRequest())
            assert len(listed.orders) == 1
    finally:
        await app.stop()
    assert broker.submissions == ["burst-1"]


async def test_cancel_of_a_resting_order_ends_cancelled(client) -> None:
    order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
    cancelled = (await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=order.order_id))).order
    cancelled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_CANCELLED)
    again = (await client.execution.CancelOrder(pb.CancelOrderRequest(client_order_id=order.client_order_id))).order
    assert again == cancelled


async def test_cancel_of_a_filled_order_is_a_failed_precondition_naming_the_state(client) -> None:
    order = await client.place()
    await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=order.order_id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "FILLED" in refused.value.details()


async def test_list_orders_filters_and_pages_in_a_stable_order(client) -> None:
    placed = []
    for index in range(7):
        placed.append(
            await client.place(
                strategy_id="alpha" if index % 2 == 0 else "beta",
                symbol="MSFT" if index < 4 else "AAPL",
                order_type=pb.ORDER_TYPE_LIMIT,
                limit_price="1",
            )
        )
    pages, token, tokens = [], "", []
    while True:
        response = await client.execution.ListOrders(pb.ListOrdersRequest(strategy_id="alpha", page_size=2, page_token=token))
        pages.append([order.order_id for order in response.orders])
        token = response.next_page_token
        if not token:
            break
        tokens.append(token)
    alpha = [order.order_id for index, order in enumerate(placed) if index % 2 == 0]
    assert [order_id for page in pages for order_id in page] == alpha
    assert all(len(page) <= 2 for page in pages)
    by_symbol = await client.execution.ListOrders(pb.ListOrdersRequest(symbol="aapl"))
    assert [order.order_id for order in by_symbol.orders] == [order.order_id for order in placed[4:]]
    by_status = await client.execution.ListOrders(pb.ListOrdersRequest(statuses=[pb.ORDER_STATUS_FILLED]))
    assert list(by_status.orders) == []
    with pytest.raises(grpc.aio.AioRpcError) as mismatch:
        await client.execution.ListOrders(pb.ListOrdersRequest(strategy_id="beta", page_token=tokens[0]))
    assert mismatch.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_submission_outcome_stays_pending_then_settles_by_client_order_id(database_url, tmp_path) -> None:
    settings = settings_for(database_url, tmp_path)
    settings = replace(settings, simulator=replace(settings.simulator, unknown_outcome_fraction=1.0))
    async with running(settings) as client:
        order = await client.place(client_order_id="lost-ack-1")
        assert order.status == pb.ORDER_STATUS_PENDING and order.in_flight
        settled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
        assert settled.broker_order_id and not settled.in_flight
        broker_order = await client.app.broker.find_by_client_id("lost-ack-1")
        assert broker_order is not None and broker_order.filled_quantity == 10


async def test_a_submission_the_broker_does_not_acknowledge_in_time_stays_pending_then_settles(
    database_url, tmp_path
) -> None:
    """The simulated broker takes the order at once but acknowledges it only after 1 s; PlaceOrder
    gives up after 0.1 s and answers PENDING, in flight, and the lookup by client order id
    settles it."""
    settings = settings_for(database_url, tmp_path)
    settings = replace(
        settings, submit_timeout_seconds=0.1, simulator=replace(settings.simulator, ack_latency_seconds=1.0)
    )
    async with running(settings) as client:
        order = await client.place(client_order_id="slow-ack-1")
        assert order.status == pb.ORDER_STATUS_PENDING and order.in_flight
        settled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
        assert settled.broker_order_id and not settled.in_flight and settled.filled_quantity == "10"


async def test_a_broker_refusal_is_a_rejected_order_not_an_rpc_error(database_url, tmp_path) -> None:
    settings = settings_for(database_url, tmp_path)
    settings = replace(settings, simulator=replace(settings.simulator, reject_fraction=1.0))
    async with running(settings) as client:
        order = await client.place()
        assert order.status == pb.ORDER_STATUS_REJECTED
        assert order.reject_reason.startswith("BROKER_REJECTED:")


async def test_a_memory_only_broker_restarted_never_reuses_an_execution_id(database_url, tmp_path) -> None:
    """The service's database outlives a memory-only simulated broker: fills after its restart
    must not be taken for duplicates of fills before it."""
    settings = settings_for(database_url, tmp_path)
    settings = replace(settings, simulator=replace(settings.simulator, state_path=None))
    filled = []
    for _ in range(2):
        async with running(settings) as client:
            order = await client.place()
            filled.append(await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED))
    assert [order.filled_quantity for order in filled] == ["10", "10"]


async def test_an_order_whose_write_failed_can_be_placed_again(database_url, tmp_path, monkeypatch) -> None:
    """A database failure rolls the whole change back: the client gets UNAVAILABLE, and a retry
    with the same client order id is a fresh order, not a duplicate or a rate-limit breach."""
    from sqlalchemy.exc import OperationalError

    from execution_server.store import repository

    settings = settings_for(
        database_url, tmp_path, risk={"duplicate_window_seconds": 60, "max_orders_per_second": "0.001", "order_burst": 1}
    )
    real_insert = repository.insert_orders
    failures = [OperationalError("INSERT", {}, Exception("disk I/O error"))]

    def failing_once(statements, orders):
        if failures and orders:
            raise failures.pop()
        return real_insert(statements, orders)

    async with running(settings) as client:
        monkeypatch.setattr(repository, "insert_orders", failing_once)
        with pytest.raises(grpc.aio.AioRpcError) as unavailable:
            await client.place(client_order_id="retry-after-failure")
        assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
        order = await client.place(client_order_id="retry-after-failure")
        assert order.status != pb.ORDER_STATUS_REJECTED, order.reject_reason
        listed = await client.execution.ListOrders(pb.ListOrdersRequest())
        assert [o.client_order_id for o in listed.orders] == ["retry-after-failure"]


async def test_a_price_with_every_digit_the_api_accepts_comes_back_exactly(settings) -> None:
    """24 integer digits and 12 decimals pass validation (36 digits): none may be rounded away,
    in the reply, in what GetOrder reads back from the database, or after a restart."""
    price = "123456789012345678901234.123456789012"
    async with running(settings) as client:
        placed = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price=price, quantity="1")
        assert placed.limit_price == price and (await client.get(placed.order_id)).limit_price == price
    async with running(settings) as client:
        assert (await client.get(placed.order_id)).limit_price == price


class FaultyAdapter(SimulatedBroker):
    """The real simulated broker behind an adapter with a bug after the order went out."""

    async def submit(self, order: Order) -> BrokerAck:
        await super().submit(order)
        raise AttributeError("'NoneType' object has no attribute 'id'")  # what a bug looks like


async def test_a_bug_in_the_adapter_on_submit_is_an_error_with_its_traceback_and_the_order_settles(
    settings, caplog: pytest.LogCaptureFixture
) -> None:
    broker = build_broker(settings)
    broker.__class__ = FaultyAdapter
    async with running(settings, broker=broker) as client:
        order = await client.place(client_order_id="buggy-1")
        assert order.status == pb.ORDER_STATUS_PENDING and order.in_flight
        settled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
        assert settled.broker_order_id and not settled.in_flight
    reports = [r for r in caplog.records if r.name == "execution_server.oms.service" and order.order_id in r.getMessage()]
    assert [r.levelname for r in reports] == ["ERROR"]
    assert reports[0].exc_info is not None and isinstance(reports[0].exc_info[1], AttributeError)


async def test_an_unknown_submission_outcome_is_a_warning_not_an_error(database_url, tmp_path, caplog) -> None:
    settings = settings_for(database_url, tmp_path)
    settings = replace(settings, simulator=replace(settings.simulator, unknown_outcome_fraction=1.0))
    async with running(settings) as client:
        order = await client.place(client_order_id="lost-ack-2")
        await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    reports = [r for r in caplog.records if r.name == "execution_server.oms.service" and order.order_id in r.getMessage()]
    assert [r.levelname for r in reports] == ["WARNING"] and reports[0].exc_info is None


class HeldAtTheDoor(SimulatedBroker):
    """The real simulated broker, holding each submission until the test lets it through."""

    entered: asyncio.Event
    gate: asyncio.Event

    async def submit(self, order: Order) -> BrokerAck:
        self.entered.set()
        await self.gate.wait()
        return await super().submit(order)


async def test_a_market_order_filled_before_the_reply_is_sent_is_replied_filled(settings) -> None:
    """The ack and the fill the broker reported at once commit in the same batch, the ack first:
    the reply, sent after that commit, must say FILLED, not the SUBMITTED of the ack."""
    broker = build_broker(settings)
    broker.__class__ = HeldAtTheDoor
    broker.entered, broker.gate = asyncio.Event(), asyncio.Event()
    async with running(settings, broker=broker) as client:
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="187.25"))
        reply = asyncio.ensure_future(client.place(quantity="10"))
        await broker.entered.wait()
        # Keep the writer busy with a change of its own, so that the ack and the broker's
        # events queue up behind it and go into one batch together.
        inside, release = asyncio.Event(), asyncio.Event()

        async def hold(tx) -> None:  # type: ignore[no-untyped-def]
            inside.set()
            await release.wait()

        held = client.app.writer.submit(hold)
        await inside.wait()
        broker.gate.set()

        async def queued() -> int:
            return client.app.writer._queue.qsize()

        await eventually(queued, lambda size: size >= 3)  # the ack, then the broker's accepted and filled
        release.set()
        await held
        order = await reply
    assert order.status == pb.ORDER_STATUS_FILLED
    assert (order.filled_quantity, order.average_fill_price) == ("10", "187.25")


async def test_a_fill_timed_before_the_last_update_keeps_its_time_and_moves_updated_at_forward(settings) -> None:
    """The broker's fill time goes to the fill; the order's updated_at is when the service
    changed it, and never goes back."""
    from datetime import timedelta

    from execution_server.brokers.base import OrderFilled
    from tests.fakes import QuietBroker

    broker = QuietBroker()
    async with running(settings, broker=broker) as client:
        placed = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1", quantity="10")
        before = placed.updated_at.ToDatetime(tzinfo=UTC)
        early = before - timedelta(hours=1)
        await broker._events.put(
            OrderFilled(placed.broker_order_id, placed.client_order_id, "early-x1", Decimal("4"), Decimal("1"), early)
        )
        filled = await eventually(lambda: client.get(placed.order_id), lambda o: o.filled_quantity == "4")
        updates = client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest())
        fill = None
        async for update in updates:
            if update.HasField("fill"):
                fill = update.fill
                break
        updates.cancel()
    assert filled.updated_at.ToDatetime(tzinfo=UTC) >= before
    assert fill is not None and fill.time.ToDatetime(tzinfo=UTC) == early
