"""Risk's reference prices with EXECUTION_BROKER=alpaca: the latest trade from Alpaca's market
data (here the emulator's), looked up before the first order for a symbol, so that it is not
refused merely for being first; a symbol with no price at the broker at all is refused, naming
the missing price."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from tests.harness import Client, running, settings_for
from tests.waiting import eventually
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET

LIMITS = {"max_order_notional": "100000"}  # needs a price for a market order's notional


@pytest.fixture
async def service(emulator: AlpacaEmulator, database_url: str, tmp_path: Path) -> AsyncIterator[Client]:
    settings = settings_for(
        database_url, tmp_path, broker="alpaca", alpaca_api_key=ALPACA_KEY, alpaca_secret_key=ALPACA_SECRET,
        alpaca_base_url=emulator.rest_url, alpaca_data_url=emulator.rest_url, trading_mode="PAPER", risk=LIMITS,
    )
    async with running(settings) as client:
        yield client


async def test_the_first_market_order_for_a_symbol_is_priced_from_market_data(service: Client, emulator: AlpacaEmulator) -> None:
    emulator.set_price("MSFT", "410.5")
    assert service.app.broker.reference_price("MSFT") is None

    order = await service.place(client_order_id="first-msft", symbol="MSFT", quantity="2")

    assert order.status != pb.ORDER_STATUS_REJECTED, order.reject_reason
    assert service.app.broker.reference_price("MSFT") == Decimal("410.5")
    await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)


async def test_a_symbol_with_no_price_at_the_broker_is_refused_naming_the_missing_price(service: Client) -> None:
    order = await service.place(client_order_id="no-price", symbol="ZZZZ", quantity="1")

    assert order.status == pb.ORDER_STATUS_REJECTED
    assert "no reference price for ZZZZ" in order.reject_reason
