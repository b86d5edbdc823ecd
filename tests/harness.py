"""A real service in-process: the Application on a free loopback port, and a real channel."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc, risk_pb2_grpc, simulator_pb2_grpc
from execution_server.app import Application
from execution_server.brokers.base import BrokerClient
from execution_server.config import ReconcileConfig, Settings, SimulatorConfig, StreamConfig, replace
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


def settings_for(database_url: str, state_dir: Path, **overrides: Any) -> Settings:
    base = Settings(
        # Secrets every test server holds, even on the simulated broker: the suite's secret scan
        # (tests/secret_scan.py) proves they never appear in what the servers write.
        alpaca_api_key=ALPACA_KEY,
        alpaca_secret_key=ALPACA_SECRET,
        grpc_address="127.0.0.1:0",
        database_url=database_url,
        simulator=SimulatorConfig(state_path=state_dir / "simulator.jsonl"),
        reconcile=ReconcileConfig(interval_seconds=3600),
        stream=StreamConfig(),
        grace_seconds=1.0,
    )
    return replace(base, **overrides)


@dataclass
class Client:
    app: Application
    channel: grpc.aio.Channel
    execution: execution_pb2_grpc.ExecutionServiceStub
    risk: risk_pb2_grpc.RiskServiceStub
    simulator: simulator_pb2_grpc.SimulatorServiceStub

    async def place(self, **fields: Any) -> pb.Order:
        request = pb.PlaceOrderRequest(**{**ORDER_DEFAULTS, **fields})
        return (await self.execution.PlaceOrder(request)).order

    async def get(self, order_id: str) -> pb.Order:
        return (await self.execution.GetOrder(pb.GetOrderRequest(order_id=order_id))).order


ORDER_DEFAULTS: dict[str, Any] = {
    "strategy_id": "momentum_v1",
    "symbol": "AAPL",
    "side": pb.SIDE_BUY,
    "quantity": "10",
    "order_type": pb.ORDER_TYPE_MARKET,
}


@contextlib.asynccontextmanager
async def running(settings: Settings, broker: BrokerClient | None = None) -> AsyncIterator[Client]:
    """The service on a free loopback port with a real channel; `broker` replaces the
    configured adapter (a fake, for what no real broker can be made to do)."""
    app = Application(settings, broker=broker)
    try:
        port = await app.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Client(
                app,
                channel,
                execution_pb2_grpc.ExecutionServiceStub(channel),
                risk_pb2_grpc.RiskServiceStub(channel),
                simulator_pb2_grpc.SimulatorServiceStub(channel),
            )
    finally:
        await app.stop()
