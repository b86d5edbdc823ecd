"""The service with EXECUTION_BROKER=alpaca, through its gRPC API, against the emulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.alpaca.client import AlpacaClient
from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from tests.harness import Client, running, settings_for
from tests.waiting import eventually


@pytest.fixture
async def service(emulator: AlpacaEmulator, database_url: str, tmp_path: Path,
                  caplog: pytest.LogCaptureFixture) -> AsyncIterator[Client]:
    settings = settings_for(database_url, tmp_path, broker="alpaca", alpaca_api_key="KEY", alpaca_secret_key="SECRET",
                            alpaca_base_url=emulator.rest_url, trading_mode="PAPER")
    with caplog.at_level(logging.INFO, "execution_server.app"):
        async with running(settings) as client:
            yield client


async def test_a_market_order_fills_and_the_books_agree_with_alpaca(service: Client, emulator: AlpacaEmulator,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(service.app.broker, AlpacaClient)
    [started] = [r.getMessage() for r in caplog.get_records("setup") if r.getMessage().startswith("serving ")]
    assert f"broker alpaca PAPER at {emulator.rest_url}" in started and "SECRET" not in started
    emulator.set_price("AAPL", "187.25")
    order = await service.place(client_order_id="grpc-1", quantity="10")
    filled = await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    assert (filled.filled_quantity, filled.average_fill_price) == ("10", "187.25")
    assert len(emulator.submissions("grpc-1")) == 1
    positions = (await service.execution.GetPositions(pb.GetPositionsRequest())).positions
    ours = {p.symbol: Decimal(p.quantity) for p in positions if not p.strategy_id}
    at_alpaca = {p["symbol"]: Decimal(p["qty"]) for p in emulator.state()["positions"]}
    assert ours == at_alpaca == {"AAPL": Decimal("10")}
    report = await service.execution.Reconcile(pb.ReconcileRequest(repair=False))
    assert not report.has_discrepancies, report


async def test_a_limit_order_is_cancelled_and_a_rejection_carries_alpacas_words(service: Client,
                                                                               emulator: AlpacaEmulator) -> None:
    order = await service.place(client_order_id="grpc-2", quantity="5", order_type=pb.ORDER_TYPE_LIMIT, limit_price="90")
    await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_SUBMITTED)
    await service.execution.CancelOrder(pb.CancelOrderRequest(order_id=order.order_id))
    await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_CANCELLED)
    emulator.reject_next_order("insufficient buying power", code=40310000, status=403)
    rejected = await service.place(client_order_id="grpc-3", quantity="5")
    rejected = await eventually(lambda: service.get(rejected.order_id), lambda o: o.status == pb.ORDER_STATUS_REJECTED)
    assert "40310000" in rejected.reject_reason and "insufficient buying power" in rejected.reject_reason
    report = await service.execution.Reconcile(pb.ReconcileRequest(repair=False))
    assert not report.has_discrepancies, report


async def test_a_5xx_on_submit_is_settled_by_lookup_never_sent_twice(service: Client, emulator: AlpacaEmulator) -> None:
    emulator.fail_next(500, after_processing=True)
    order = await service.place(client_order_id="grpc-5xx", quantity="3")
    filled = await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    assert filled.filled_quantity == "3"
    assert len(emulator.submissions("grpc-5xx")) == 1
    report = await service.execution.Reconcile(pb.ReconcileRequest(repair=False))
    assert not report.has_discrepancies, report


async def test_fills_while_the_stream_is_down_reach_the_books_after_the_reconnect(service: Client,
                                                                                emulator: AlpacaEmulator) -> None:
    await emulator.wait_for_listeners(1)
    order = await service.place(client_order_id="grpc-down", quantity="10", order_type=pb.ORDER_TYPE_LIMIT,
                                limit_price="99.5", time_in_force=pb.TIME_IN_FORCE_GTC)
    await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_SUBMITTED)
    emulator.silence_stream(True)
    emulator.set_price("AAPL", "99.4", available="4")
    emulator.set_price("AAPL", "99.2")
    emulator.drop_stream()
    filled = await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    assert filled.filled_quantity == "10"
    assert Decimal(filled.average_fill_price) == Decimal([o for o in emulator.orders()
                                                          if o["client_order_id"] == "grpc-down"][0]["filled_avg_price"])
    positions = (await service.execution.GetPositions(pb.GetPositionsRequest())).positions
    assert {p.symbol: Decimal(p.quantity) for p in positions if not p.strategy_id} == {"AAPL": Decimal("10")}
    report = await service.execution.Reconcile(pb.ReconcileRequest(repair=False))
    assert not report.has_discrepancies, report
