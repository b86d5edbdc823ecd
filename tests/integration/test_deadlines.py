"""Deadlines: a call that arrives with its deadline (all but) passed does nothing; a PlaceOrder
whose deadline passes while the order is on its way still ends with one consistent order; a
stream whose deadline passes ends, and its subscription with it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.config import SimulatorConfig
from tests.harness import ORDER_DEFAULTS, Client, running, settings_for
from tests.integration.test_store_faults import gated_broker
from tests.waiting import eventually

ALREADY_PASSED = 1e-6  # seconds: the deadline is gone by the time the server reads the call


async def by_client_id(client: Client, client_order_id: str) -> pb.Order | None:
    try:
        return (await client.execution.GetOrder(pb.GetOrderRequest(client_order_id=client_order_id))).order
    except grpc.aio.AioRpcError as error:
        assert error.code() is grpc.StatusCode.NOT_FOUND
        return None


@pytest.mark.parametrize("attempt", range(3))  # each a fresh race between arrival and the deadline
async def test_an_order_whose_deadline_passed_before_it_arrived_is_not_placed(
    database_url: str, tmp_path: Path, attempt: int
) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await client.execution.PlaceOrder(pb.PlaceOrderRequest(**ORDER_DEFAULTS, client_order_id="too-late"),
                                              timeout=ALREADY_PASSED)
        assert late.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        # The writer commits in order: once a later order is placed, an earlier one would be there.
        await client.place(client_order_id="on-time")
        assert await by_client_id(client, "too-late") is None
        orders = (await client.execution.ListOrders(pb.ListOrdersRequest())).orders
        assert [order.client_order_id for order in orders] == ["on-time"]


async def test_a_place_order_whose_deadline_passes_at_the_broker_still_ends_with_one_consistent_order(
    database_url: str, tmp_path: Path
) -> None:
    slow_broker = SimulatorConfig(state_path=tmp_path / "simulator.jsonl", ack_latency_seconds=1.0)
    async with running(settings_for(database_url, tmp_path, simulator=slow_broker)) as client:
        request = pb.PlaceOrderRequest(**ORDER_DEFAULTS, client_order_id="impatient")
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await client.execution.PlaceOrder(request, timeout=0.3)
        assert late.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        # The order was durable before the broker was called: it is not lost, and it settles.
        settled = await eventually(lambda: by_client_id(client, "impatient"),
                                   lambda order: order is not None and order.status == pb.ORDER_STATUS_FILLED)
        assert settled.broker_order_id
        # The client retries with the same client order id, as after any unknown outcome: the same order.
        again = (await client.execution.PlaceOrder(request)).order
        assert again.order_id == settled.order_id
        orders = (await client.execution.ListOrders(pb.ListOrdersRequest())).orders
        assert [order.client_order_id for order in orders] == ["impatient"]
        positions = (await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id="momentum_v1"))).positions
        assert [(p.symbol, p.quantity) for p in positions] == [("AAPL", "10")]


async def test_a_stream_whose_deadline_passes_ends_and_unsubscribes(client: Client) -> None:
    stream = client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest(), timeout=0.5)
    await eventually(lambda: asyncio.sleep(0, client.app.fanout.subscriber_count), lambda count: count == 1)
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        async for _ in stream:
            pass
    assert ended.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await eventually(lambda: asyncio.sleep(0, client.app.fanout.subscriber_count), lambda count: count == 0)
    assert (await client.place()).status == pb.ORDER_STATUS_FILLED  # and the service goes on


PLACE_ORDER_TASK = "HandleExceptions[/execution.v1.ExecutionService/PlaceOrder]"  # grpc.aio names each call's task


async def test_a_place_order_cancelled_while_its_order_is_being_recorded_still_sends_that_order(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="execution_server.oms.service")
    writer = client.app.writer
    held, release = asyncio.Event(), asyncio.Event()

    async def hold(tx: object) -> None:  # the writer busy with an earlier batch
        held.set()
        await release.wait()

    holding = writer.submit(hold)
    try:
        await held.wait()
        call = client.execution.PlaceOrder(pb.PlaceOrderRequest(**ORDER_DEFAULTS, client_order_id="caller-gone"))
        [handler] = await eventually(lambda: asyncio.sleep(0, [t for t in asyncio.all_tasks() if t.get_name() == PLACE_ORDER_TASK]),
                                     lambda tasks: len(tasks) == 1)
        # Its change waits behind the held batch (a peek at the writer's queue: nothing else shows it).
        await eventually(lambda: asyncio.sleep(0, writer._queue.qsize()), lambda queued: queued == 1)
        call.cancel()
        # The cancellation has reached the handler: it ended (nothing kept it) or it carries on.
        await eventually(lambda: asyncio.sleep(0, handler.done() or "placed all the same" in caplog.text), bool)
    finally:
        release.set()
    await holding
    settled = await eventually(lambda: by_client_id(client, "caller-gone"),
                               lambda order: order is not None and order.status == pb.ORDER_STATUS_FILLED)
    assert not settled.in_flight


async def test_a_place_order_cancelled_while_the_broker_is_asked_is_settled_not_left_in_flight(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, settle_attempts=2)
    broker = gated_broker(settings)  # holds each submission at its door; never opened here
    async with running(settings, broker=broker) as client:
        call = client.execution.PlaceOrder(pb.PlaceOrderRequest(**ORDER_DEFAULTS, client_order_id="never-sent"))
        await broker.entered.wait()
        call.cancel()
        # Never at the broker: looked up by client order id, not found, and so rejected as such.
        settled = await eventually(lambda: by_client_id(client, "never-sent"),
                                   lambda order: order is not None and order.status == pb.ORDER_STATUS_REJECTED)
        assert settled.reject_reason.startswith("NOT_RECEIVED")
        assert not settled.in_flight
