"""What one client can make the server hold ([server.limits]): an oversized message is refused,
a connection without a call is closed after the idle time, and streams beyond the cap on one
connection wait for a free one instead of failing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import h2.events
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution_server.config import ServerLimits
from tests.harness import ORDER_DEFAULTS, running, settings_for
from tests.raw_http2 import RawConnection
from tests.waiting import eventually


async def test_a_request_larger_than_the_limit_is_refused_before_it_is_parsed(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path, limits=ServerLimits(max_receive_message_bytes=64 * 1024))
    async with running(settings) as client:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.place(client_order_id="x" * (100 * 1024))
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (await client.execution.ListOrders(pb.ListOrdersRequest())).orders == []
        assert (await client.place(client_order_id="a-normal-one")).client_order_id == "a-normal-one"


async def test_a_connection_without_a_call_is_closed_after_the_idle_time(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path, limits=ServerLimits(max_connection_idle_seconds=0.5))
    async with running(settings) as client:
        # A stream in progress is a call: its connection is not idle, however long it lasts.
        stream = client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest())
        await eventually(lambda: asyncio.sleep(0, client.app.fanout.subscriber_count), lambda count: count == 1)
        idle = RawConnection(client.app.port)
        try:
            events = await asyncio.to_thread(idle.events_until_closed)  # the socket's 30 s timeout fails it
        finally:
            idle.close()
        assert any(isinstance(event, h2.events.ConnectionTerminated) for event in events)  # GOAWAY, then closed
        # Past the idle time, the stream's connection still carries its updates.
        order = await client.place()
        update = await stream.read()
        assert update.order.order_id == order.order_id
        stream.cancel()


async def test_streams_beyond_the_cap_on_one_connection_wait_for_a_free_one(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path, limits=ServerLimits(max_concurrent_streams=2))
    async with running(settings) as client, separate_connection(client.app.port) as orders:
        # Every call takes a stream, unary ones too: the orders go over a connection of their own.
        streams = [client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest()) for _ in range(3)]
        first_reads = [asyncio.ensure_future(stream.read()) for stream in streams]
        for _ in range(2):  # two orders: every stream that runs has had its turns to subscribe
            await orders.PlaceOrder(pb.PlaceOrderRequest(**ORDER_DEFAULTS))
            await eventually(lambda: asyncio.sleep(0, sum(read.done() for read in first_reads)), lambda done: done == 2)
        assert client.app.fanout.subscriber_count == 2  # the third waits at the client, neither served nor failed
        [waiting] = [index for index, read in enumerate(first_reads) if not read.done()]
        served = next(index for index in range(3) if index != waiting)
        streams[served].cancel()
        first = await first_reads[waiting]  # a stream ended: the waiting one starts, from the beginning
        assert first.sequence == 1
        for stream in streams:
            stream.cancel()
        assert [await stream.code() for stream in streams] == [grpc.StatusCode.CANCELLED] * 3


@contextlib.asynccontextmanager
async def separate_connection(port: int) -> AsyncIterator[execution_pb2_grpc.ExecutionServiceStub]:
    """A channel on a connection of its own (channels to one target otherwise share one)."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        yield execution_pb2_grpc.ExecutionServiceStub(channel)


async def test_a_burst_of_calls_beyond_the_cap_on_one_connection_waits_and_none_fails(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path, limits=ServerLimits(max_concurrent_streams=10))
    async with running(settings) as client:
        results = await asyncio.gather(
            *(client.place(client_order_id=f"burst-{n}", order_type=pb.ORDER_TYPE_LIMIT, limit_price="1") for n in range(60)),
            return_exceptions=True,
        )
        assert [result for result in results if isinstance(result, BaseException)] == []
        assert all(order.status == pb.ORDER_STATUS_SUBMITTED for order in results)  # type: ignore[union-attr]
