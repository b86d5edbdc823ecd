"""The metrics endpoint of a real server: off unless configured, and every counter moving by
exactly what was done through the API (on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2
from execution.v1 import simulator_pb2 as sim
from execution_server.brokers.base import BrokerUnavailable
from execution_server.brokers.factory import build_broker
from execution_server.brokers.simulated import SimulatedBroker
from execution_server.config import MetricsConfig
from execution_server.observability.metrics import REJECT_CATEGORIES
from tests.harness import Client, running, settings_for
from tests.observability.scrape import moved, scrape, value
from tests.waiting import eventually

PLACE = "execution.v1.ExecutionService/PlaceOrder"
CANCEL = "execution.v1.ExecutionService/CancelOrder"
GET = "execution.v1.ExecutionService/GetOrder"


def metrics_on(database_url: str, tmp_path: Path, **overrides):  # type: ignore[no-untyped-def]
    return settings_for(database_url, tmp_path, metrics=MetricsConfig(address="127.0.0.1:0"), **overrides)


async def filled(client: Client, order_id: str) -> pb.Order:
    return await eventually(lambda: client.get(order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)


async def test_counters_move_by_exactly_what_the_orders_did(database_url: str, tmp_path: Path) -> None:
    async with running(metrics_on(database_url, tmp_path)) as client:
        port = client.app.metrics_port
        assert port
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="100"))
        before, _ = await scrape(port)

        market = [await client.place(quantity="3"), await client.place(quantity="4")]
        for order in market:
            await filled(client, order.order_id)
        resting = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
        cancelled = await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=resting.order_id))
        assert cancelled.order.status == pb.ORDER_STATUS_CANCELLED
        rejected = await client.place(quantity="1000000")  # beyond the safe default limits
        assert rejected.status == pb.ORDER_STATUS_REJECTED
        category = rejected.reject_reason.partition(":")[0]
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await client.get(str(uuid.uuid4()))
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND

        after, _ = await scrape(port)
        events = "execution_order_events_total"
        assert moved(before, after, events, event="placed") == 4
        assert moved(before, after, events, event="submitted") == 3
        assert moved(before, after, events, event="filled") == 2
        assert moved(before, after, events, event="cancel_requested") == 1
        assert moved(before, after, events, event="cancelled") == 1
        assert moved(before, after, events, event="rejected") == 1
        assert moved(before, after, "execution_order_rejections_total", reason=category) == 1
        assert category in REJECT_CATEGORIES  # a bounded label, never the reason's free text
        assert moved(before, after, "execution_fills_total") == 2
        assert moved(before, after, "execution_rpc_requests_total", method=PLACE, code="OK") == 4
        assert moved(before, after, "execution_rpc_requests_total", method=CANCEL, code="OK") == 1
        assert moved(before, after, "execution_rpc_requests_total", method=GET, code="NOT_FOUND") == 1
        assert moved(before, after, "execution_rpc_duration_seconds_count", method=PLACE) == 4
        assert moved(before, after, "execution_broker_requests_total", kind="submit", outcome="ok") == 3
        assert moved(before, after, "execution_broker_requests_total", kind="cancel", outcome="ok") == 1
        assert moved(before, after, "execution_broker_request_duration_seconds_count", kind="submit") == 3
        # Each change went through a batch: at least one batch, at most one per change.
        batches = moved(before, after, "execution_writer_batch_size_count")
        changes = moved(before, after, "execution_writer_batch_size_sum")
        assert 1 <= batches <= changes
        assert moved(before, after, "execution_writer_batch_duration_seconds_count") == batches
        assert value(after, "execution_broker_stream_connected") == 1
        assert value(after, "execution_kill_switch_engaged") == 0
        assert value(after, "execution_event_log_sequence") == client.app.fanout.high_water_mark


async def test_gauges_follow_streams_the_kill_switch_and_reconciliation(database_url: str, tmp_path: Path) -> None:
    async with running(metrics_on(database_url, tmp_path)) as client:
        port = client.app.metrics_port
        before, _ = await scrape(port)
        assert value(before, "execution_stream_subscribers") == 0
        stream = client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest())
        await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
        await stream.read()  # subscribed, and handed the order's first event
        during, _ = await scrape(port)
        assert value(during, "execution_stream_subscribers") == 1
        stream.cancel()

        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason="desk halt"))
        await client.simulator.SetBrokerPosition(sim.SetBrokerPositionRequest(symbol="MSFT", quantity="5"))
        report = await client.execution.Reconcile(pb.ReconcileRequest(repair=True))
        kinds = [pb.DiscrepancyKind.Name(d.kind).removeprefix("DISCREPANCY_KIND_") for d in report.discrepancies]
        assert kinds == ["POSITION_MISSING_LOCALLY"]
        after, _ = await scrape(port)
        assert value(after, "execution_kill_switch_engaged") == 1
        assert moved(before, after, "execution_reconcile_runs_total", trigger="rpc", result="discrepancies") == 1
        assert moved(before, after, "execution_reconcile_discrepancies_total", kind="POSITION_MISSING_LOCALLY") == 1
        assert moved(before, after, "execution_order_events_total", event="repaired") == 1
        # Start-up's run, before anything: no discrepancies.
        assert value(after, "execution_reconcile_runs_total", trigger="startup", result="clean") == 1
        await eventually(lambda: scrape(port), lambda scraped: value(scraped[0], "execution_stream_subscribers") == 0)


def listening_ports() -> set[int]:
    """The TCP ports this process listens on, from /proc: its sockets' inodes in LISTEN state."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


async def test_metrics_are_off_by_default_and_open_no_port(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path)
    assert settings.metrics.address is None
    before = listening_ports()
    async with running(settings) as client:
        assert client.app.metrics_port is None and client.app.observability.metrics is None
        opened = listening_ports() - before
        assert opened == {client.app.port}  # the gRPC port, and nothing else


async def test_a_taken_metrics_port_stops_start_up(database_url: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        settings = settings_for(database_url, tmp_path, metrics=MetricsConfig(address=f"127.0.0.1:{busy}"))
        with pytest.raises(OSError):
            async with running(settings):
                pass


class UnreachableBroker(SimulatedBroker):
    """The simulated broker, whose positions cannot be read while `down` (a reconciliation's
    first request to the broker)."""

    down = False

    async def positions(self):  # type: ignore[no-untyped-def]
        if self.down:
            raise BrokerUnavailable("the broker is unreachable")
        return await super().positions()


async def test_a_reconciliation_that_fails_is_counted_as_failed(database_url: str, tmp_path: Path) -> None:
    settings = metrics_on(database_url, tmp_path)
    broker = build_broker(settings)
    broker.__class__ = UnreachableBroker
    async with running(settings, broker=broker) as client:
        port = client.app.metrics_port
        before, _ = await scrape(port)
        broker.down = True
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await client.execution.Reconcile(pb.ReconcileRequest())
        assert failed.value.code() is grpc.StatusCode.UNAVAILABLE
        broker.down = False
        await client.execution.Reconcile(pb.ReconcileRequest())
        after, _ = await scrape(port)
        assert moved(before, after, "execution_reconcile_runs_total", trigger="rpc", result="failed") == 1
        assert moved(before, after, "execution_reconcile_runs_total", trigger="rpc", result="clean") == 1
