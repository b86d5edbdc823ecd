"""What a client is told when the database refuses a change or cannot answer: only the caller
at fault fails, a live order is never reported as an error, and a store that cannot answer is
UNAVAILABLE."""

from __future__ import annotations

import asyncio

import grpc

from execution.v1 import execution_pb2 as pb
from tests.harness import Client


async def test_one_clients_refused_change_fails_no_other_clients_order(client: Client) -> None:
    """A NUL in an order id is accepted by SQLite and refused by PostgreSQL, which then aborts
    the whole transaction of the group commit: the PlaceOrders batched with it must not pay."""
    places = [client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1") for _ in range(300)]
    cancels = [client.execution.CancelOrder(pb.CancelOrderRequest(order_id="x\0")) for _ in range(20)]
    calls = places[:150] + cancels + places[150:]
    results = await asyncio.gather(*calls, return_exceptions=True)
    placed = results[:150] + results[170:]
    refused = results[150:170]
    failed = [result for result in placed if isinstance(result, BaseException)]
    assert failed == []
    assert all(order.status == pb.ORDER_STATUS_SUBMITTED for order in placed)
    assert all(isinstance(result, grpc.aio.AioRpcError) for result in refused)
    assert {result.code() for result in refused} <= {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE}
    listed = await client.execution.ListOrders(pb.ListOrdersRequest(page_size=1000))
    assert len(listed.orders) == 300
