"""Alpaca's faults, through the service's gRPC API with EXECUTION_BROKER=alpaca against the
emulator: what the books say afterwards. (The adapter alone: test_client_faults.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from tests.alpaca.test_client_faults import publish, record_frames
from tests.harness import Client, running, settings_for
from tests.waiting import eventually
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET

GTC_LIMIT = {"order_type": pb.ORDER_TYPE_LIMIT, "time_in_force": pb.TIME_IN_FORCE_GTC}


@pytest.fixture
async def service(emulator: AlpacaEmulator, database_url: str, tmp_path: Path) -> AsyncIterator[Client]:
    settings = settings_for(database_url, tmp_path, broker="alpaca", alpaca_api_key=ALPACA_KEY, alpaca_secret_key=ALPACA_SECRET,
                            alpaca_base_url=emulator.rest_url, alpaca_data_url=emulator.rest_url, trading_mode="PAPER")
    async with running(settings) as client:
        yield client


async def books_agree(service: Client, emulator: AlpacaEmulator) -> None:
    positions = (await service.execution.GetPositions(pb.GetPositionsRequest())).positions
    ours = {p.symbol: Decimal(p.quantity) for p in positions if Decimal(p.quantity)}
    assert ours == {p["symbol"]: Decimal(p["qty"]) for p in emulator.state()["positions"]}
    report = await service.execution.Reconcile(pb.ReconcileRequest(repair=False))
    assert not report.has_discrepancies, report


@pytest.mark.slow  # each 429 is waited out to Alpaca's reset, a second or two
async def test_a_429_storm_does_not_stop_a_cancel(service: Client, emulator: AlpacaEmulator) -> None:
    order = await service.place(client_order_id="storm-1", limit_price="90", **GTC_LIMIT)
    await eventually(lambda: service.get(order.order_id), lambda o: o.broker_order_id != "")
    emulator.fail_next(429, count=2)

    await service.execution.CancelOrder(pb.CancelOrderRequest(order_id=order.order_id))

    await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_CANCELLED)
    [state] = [o for o in emulator.orders() if o["client_order_id"] == "storm-1"]
    assert state["status"] == "canceled"
    await books_agree(service, emulator)


async def test_a_repeated_and_a_reordered_fill_count_once_each_in_the_books(service: Client, emulator: AlpacaEmulator) -> None:
    frames = record_frames(emulator)
    order = await service.place(client_order_id="twice-1", limit_price="99.5", **GTC_LIMIT)
    await eventually(lambda: service.get(order.order_id), lambda o: o.broker_order_id != "")
    emulator.silence_stream(True)  # the executions happen; their events are held back
    emulator.set_price("AAPL", "99.4", available="6")
    emulator.set_price("AAPL", "99.3", available="4")
    emulator.silence_stream(False)
    first, last = [f for f in frames if f["event"] in ("partial_fill", "fill")]
    publish(emulator, last)  # out of order, then both again
    publish(emulator, first)
    publish(emulator, last)
    publish(emulator, first)

    filled = await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    assert (filled.filled_quantity, Decimal(filled.average_fill_price)) == ("10", Decimal("99.36"))
    await books_agree(service, emulator)


async def test_an_overfilling_fill_is_refused_and_the_books_stay_right(service: Client, emulator: AlpacaEmulator) -> None:
    frames = record_frames(emulator)
    emulator.set_price("AAPL", "100")
    order = await service.place(client_order_id="over-1", quantity="10")
    await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    [fill] = [f for f in frames if f["event"] == "fill"]
    over = {**fill, "execution_id": "9f1c3a52-7d2e-4b8a-9c61-5e0f2b7d4a10", "qty": "5",
            "order": {**fill["order"], "filled_qty": "15"}}
    publish(emulator, over)
    follower = await service.place(client_order_id="after-over", quantity="1")  # behind it on the stream
    await eventually(lambda: service.get(follower.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)

    assert (await service.get(order.order_id)).filled_quantity == "10"
    await books_agree(service, emulator)
