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
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


@pytest.fixture
async def service(emulator: AlpacaEmulator, database_url: str, tmp_path: Path,
                  caplog: pytest.LogCaptureFixture) -> AsyncIterator[Client]:
    settings = settings_for(database_url, tmp_path, broker="alpaca", alpaca_api_key=ALPACA_KEY, alpaca_secret_key=ALPACA_SECRET,
                            alpaca_base_url=emulator.rest_url, alpaca_data_url=emulator.rest_url, trading_mode="PAPER")
    with caplog.at_level(logging.INFO, "execution_server.app"):
        async with running(settings) as client:
            yield client


async def test_a_market_order_fills_and_the_books_agree_with_alpaca(service: Client, emulator: AlpacaEmulator,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(service.app.broker, AlpacaClient)
    [started] = [r.getMessage() for r in caplog.get_records("setup") if r.getMessage().startswith("serving ")]
    assert f"broker alpaca PAPER at {emulator.rest_url}" in started and ALPACA_SECRET not in started
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
    await service.app.broker.prepare_price("AAPL")  # priced first: the 500 is the submission's, not market data's
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


async def _books_agree_with_alpaca(service: Client, emulator: AlpacaEmulator) -> None:
    """Our unattributed positions equal the emulator's, and a Reconcile finds nothing to repair."""
    positions = (await service.execution.GetPositions(pb.GetPositionsRequest())).positions
    ours = {p.symbol: Decimal(p.quantity) for p in positions if not p.strategy_id and Decimal(p.quantity)}
    at_alpaca = {p["symbol"]: Decimal(p["qty"]) for p in emulator.state()["positions"] if Decimal(p["qty"])}
    assert ours == at_alpaca
    report = await service.execution.Reconcile(pb.ReconcileRequest(repair=False))
    assert not report.has_discrepancies, report


def _at_alpaca(emulator: AlpacaEmulator, client_order_id: str) -> dict:
    [order] = [o for o in emulator.orders() if o["client_order_id"] == client_order_id]
    return order


# Each type as sent through PlaceOrder, the type and prices Alpaca must have received, and the
# price move (from the fixture's 100) that makes it fill; MARKET fills at once at 100.
ORDER_TYPES = [
    (pb.ORDER_TYPE_MARKET, {}, ("market", None, None), None, "100"),
    (pb.ORDER_TYPE_LIMIT, {"limit_price": "99"}, ("limit", "99", None), "98.75", "98.75"),
    (pb.ORDER_TYPE_STOP, {"stop_price": "105"}, ("stop", None, "105"), "106", "106"),
    (pb.ORDER_TYPE_STOP_LIMIT, {"stop_price": "105", "limit_price": "105.5"}, ("stop_limit", "105.5", "105"),
     "105.25", "105.25"),
]


@pytest.mark.parametrize(("order_type", "prices", "sent", "move_to", "fill_price"), ORDER_TYPES,
                         ids=["market", "limit", "stop", "stop_limit"])
async def test_each_order_type_reaches_alpaca_as_sent_and_fills(service: Client, emulator: AlpacaEmulator,
                                                                 order_type, prices, sent, move_to,
                                                                 fill_price) -> None:
    client_order_id = f"type-{order_type}"
    order = await service.place(client_order_id=client_order_id, quantity="7", order_type=order_type,
                                time_in_force=pb.TIME_IN_FORCE_GTC, **prices)
    if move_to is not None:
        # Resting at Alpaca, not filled before its price comes.
        resting = await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_SUBMITTED)
        assert resting.broker_order_id == _at_alpaca(emulator, client_order_id)["id"]
        emulator.set_price("AAPL", move_to)
    filled = await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    assert (filled.filled_quantity, Decimal(filled.average_fill_price)) == ("7", Decimal(fill_price))
    alpaca = _at_alpaca(emulator, client_order_id)
    limit, stop = alpaca["limit_price"], alpaca["stop_price"]
    assert (alpaca["type"], limit and Decimal(limit), stop and Decimal(stop), alpaca["time_in_force"]) == (
        sent[0], sent[1] and Decimal(sent[1]), sent[2] and Decimal(sent[2]), "gtc")
    assert filled.broker_order_id == alpaca["id"]
    assert len(emulator.submissions(client_order_id)) == 1
    await _books_agree_with_alpaca(service, emulator)


async def test_a_partial_fill_then_the_rest(service: Client, emulator: AlpacaEmulator) -> None:
    order = await service.place(client_order_id="partial-1", quantity="10", order_type=pb.ORDER_TYPE_LIMIT,
                                limit_price="99.5", time_in_force=pb.TIME_IN_FORCE_GTC)
    await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_SUBMITTED)
    emulator.set_price("AAPL", "99.4", available="4")
    partial = await eventually(lambda: service.get(order.order_id),
                               lambda o: o.status == pb.ORDER_STATUS_PARTIALLY_FILLED)
    assert (partial.filled_quantity, Decimal(partial.average_fill_price)) == ("4", Decimal("99.4"))
    await _books_agree_with_alpaca(service, emulator)  # mid-way too: 4 here and at Alpaca
    emulator.set_price("AAPL", "99.1")
    filled = await eventually(lambda: service.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    # (4 × 99.4 + 6 × 99.1) / 10, exactly: no float anywhere between Alpaca's strings and ours.
    assert (filled.filled_quantity, Decimal(filled.average_fill_price)) == ("10", Decimal("99.22"))
    assert Decimal(filled.average_fill_price) == Decimal(_at_alpaca(emulator, "partial-1")["filled_avg_price"])
    await _books_agree_with_alpaca(service, emulator)


async def test_an_idempotent_retry_is_the_same_order_sent_once(service: Client, emulator: AlpacaEmulator) -> None:
    fields = {"client_order_id": "retry-1", "quantity": "4", "order_type": pb.ORDER_TYPE_LIMIT, "limit_price": "95"}
    first = await service.place(**fields)
    await eventually(lambda: service.get(first.order_id), lambda o: o.status == pb.ORDER_STATUS_SUBMITTED)
    again = await service.place(**fields)
    assert again.order_id == first.order_id
    emulator.set_price("AAPL", "94.5")
    filled = await eventually(lambda: service.get(first.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    once_more = await service.place(**fields)  # after the fill as well
    assert (once_more.order_id, once_more.status) == (first.order_id, pb.ORDER_STATUS_FILLED)
    assert filled.filled_quantity == "4"
    assert len(emulator.submissions("retry-1")) == 1
    assert len([o for o in emulator.orders() if o["client_order_id"] == "retry-1"]) == 1
    await _books_agree_with_alpaca(service, emulator)
