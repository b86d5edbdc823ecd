"""The broker's event stream down: the service keeps serving (orders are placed and settled over
REST), the health service's execution.v1.BrokerEvents says NOT_SERVING until it is back, and a
setting chooses whether new orders are refused meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.base import StreamConnected, StreamDisconnected
from tests.fakes import QuietBroker
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def health(client: Client, service: str) -> int:
    return (await health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(service=service))).status


async def test_the_broker_events_health_follows_the_stream_and_orders_still_go_through(
    database_url: str, tmp_path: Path
) -> None:
    broker = QuietBroker()
    async with running(settings_for(database_url, tmp_path), broker) as client:
        assert await health(client, "execution.v1.BrokerEvents") == SERVING
        broker.emit(StreamDisconnected(NOW))
        await eventually(lambda: health(client, "execution.v1.BrokerEvents"), lambda status: status == NOT_SERVING)
        assert await health(client, "") == SERVING

        placed = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100")
        assert placed.status == pb.ORDER_STATUS_SUBMITTED

        broker.emit(StreamConnected(NOW, reconnect=True))
        await eventually(lambda: health(client, "execution.v1.BrokerEvents"), lambda status: status == SERVING)


@pytest.mark.parametrize("refuse", [True, False])
async def test_a_setting_refuses_new_orders_while_the_stream_is_down(database_url: str, tmp_path: Path, refuse: bool) -> None:
    broker = QuietBroker()
    settings = settings_for(database_url, tmp_path, reject_orders_while_stream_down=refuse)
    async with running(settings, broker) as client:
        broker.emit(StreamDisconnected(NOW))
        await eventually(lambda: health(client, "execution.v1.BrokerEvents"), lambda status: status == NOT_SERVING)

        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100")

        if refuse:
            assert order.status == pb.ORDER_STATUS_REJECTED and order.reject_reason.startswith("BROKER_STREAM_DOWN")
            assert broker.submitted == []
        else:
            assert order.status == pb.ORDER_STATUS_SUBMITTED and len(broker.submitted) == 1
        broker.emit(StreamConnected(NOW, reconnect=True))
        await eventually(lambda: health(client, "execution.v1.BrokerEvents"), lambda status: status == SERVING)
        assert (await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100")).status == pb.ORDER_STATUS_SUBMITTED
