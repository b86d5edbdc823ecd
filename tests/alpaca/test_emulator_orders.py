"""alpaca-py's TradingClient against the emulator: every order type and time in force the SDK
accepts parses without a ValidationError, and the numbers on the wire are exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Order
from alpaca.trading.requests import (
    ClosePositionRequest, GetOrdersRequest, LimitOrderRequest, MarketOrderRequest, ReplaceOrderRequest, StopLimitOrderRequest,
    StopOrderRequest,
)

from execution_server.brokers.alpaca.emulator import AlpacaEmulator

from .conftest import make_client
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET

ALL_TIF = list(TimeInForce)


def _request(kind: str, tif: TimeInForce, side: OrderSide = OrderSide.BUY, qty: float = 3,
             client_order_id: str | None = None):
    common = {"symbol": "AAPL", "qty": qty, "side": side, "time_in_force": tif, "client_order_id": client_order_id}
    if kind == "market":
        return MarketOrderRequest(**common)
    if kind == "limit":  # below the price of 100: a buy rests
        return LimitOrderRequest(**common, limit_price=99.5)
    if kind == "stop":  # above the price: a buy stop waits for the price to rise
        return StopOrderRequest(**common, stop_price=110.25)
    return StopLimitOrderRequest(**common, stop_price=110.25, limit_price=111)


@pytest.mark.parametrize("tif", ALL_TIF, ids=lambda t: t.value)
@pytest.mark.parametrize("kind", ["market", "limit", "stop", "stop_limit"])
def test_each_order_type_and_time_in_force_parses_and_works(client: TradingClient, raw: TradingClient,
                                                            kind: str, tif: TimeInForce) -> None:
    order = client.submit_order(_request(kind, tif))
    assert isinstance(order, Order) and order.status == OrderStatus.PENDING_NEW
    assert order.time_in_force == tif and order.type.value == kind
    fetched = client.get_order_by_id(order.id)
    wire = raw.get_order_by_id(order.id)
    assert wire["qty"] == "3" and wire["client_order_id"] == order.client_order_id
    if kind == "market":
        assert fetched.status == OrderStatus.FILLED
        assert (wire["filled_qty"], wire["filled_avg_price"]) == ("3", "100")
    elif tif in (TimeInForce.IOC, TimeInForce.FOK):  # not marketable: the remainder is canceled
        assert fetched.status == OrderStatus.CANCELED and fetched.canceled_at is not None
    else:
        assert fetched.status == OrderStatus.NEW and wire["filled_qty"] == "0"
    expected_prices = {"market": (None, None), "limit": ("99.5", None), "stop": (None, "110.25"),
                       "stop_limit": ("111", "110.25")}[kind]
    assert (wire["limit_price"], wire["stop_price"]) == expected_prices


def test_resting_orders_fill_when_the_price_crosses(emulator: AlpacaEmulator, client: TradingClient,
                                                    raw: TradingClient) -> None:
    limit = client.submit_order(_request("limit", TimeInForce.DAY))
    stop = client.submit_order(_request("stop", TimeInForce.GTC))
    stop_limit = client.submit_order(_request("stop_limit", TimeInForce.GTC))
    emulator.set_price("AAPL", "99.40")
    assert raw.get_order_by_id(limit.id)["filled_avg_price"] == "99.4"
    assert client.get_order_by_id(stop.id).status == OrderStatus.NEW
    emulator.set_price("AAPL", "110.30")  # triggers both stops; the stop limit accepts <= 111
    assert raw.get_order_by_id(stop.id)["filled_avg_price"] == "110.3"
    assert raw.get_order_by_id(stop_limit.id)["filled_avg_price"] == "110.3"


def test_a_triggered_stop_limit_waits_for_its_limit(emulator: AlpacaEmulator, client: TradingClient) -> None:
    order = client.submit_order(_request("stop_limit", TimeInForce.GTC))
    emulator.set_price("AAPL", "112")  # past the stop (triggered), over the limit: no fill
    assert client.get_order_by_id(order.id).status == OrderStatus.NEW
    emulator.set_price("AAPL", "110.5")
    assert client.get_order_by_id(order.id).status == OrderStatus.FILLED


def test_capped_liquidity_fills_partially_and_fok_not_at_all(emulator: AlpacaEmulator, client: TradingClient,
                                                             raw: TradingClient) -> None:
    emulator.set_price("AAPL", "100", available="2")
    fok = client.submit_order(_request("market", TimeInForce.FOK))
    assert raw.get_order_by_id(fok.id)["status"] == "canceled"
    ioc = client.submit_order(_request("market", TimeInForce.IOC))
    assert (raw.get_order_by_id(ioc.id)["status"], raw.get_order_by_id(ioc.id)["filled_qty"]) == ("canceled", "2")
    emulator.set_price("AAPL", "101", available="1")
    day = client.submit_order(_request("market", TimeInForce.DAY))
    assert (raw.get_order_by_id(day.id)["status"], raw.get_order_by_id(day.id)["filled_qty"]) == ("partially_filled", "1")
    emulator.set_price("AAPL", "102")  # unlimited again: the rest fills at the new price
    wire = raw.get_order_by_id(day.id)
    assert (wire["status"], wire["filled_qty"], wire["filled_avg_price"]) == ("filled", "3", "101.6667")


def test_float_and_string_numbers_are_both_exact(emulator: AlpacaEmulator, raw: TradingClient) -> None:
    client = raw  # posts JSON floats, as alpaca-py does
    sent = client.submit_order(LimitOrderRequest(symbol="AAPL", qty=0.1, side="buy", time_in_force="day",
                                                 limit_price=99.99))
    assert (sent["qty"], sent["limit_price"]) == ("0.1", "99.99")
    import requests

    reply = requests.post(emulator.rest_url + "/v2/orders", timeout=5,
                          headers={"APCA-API-KEY-ID": ALPACA_KEY, "APCA-API-SECRET-KEY": ALPACA_SECRET},
                          json={"symbol": "AAPL", "qty": "0.3", "side": "buy", "type": "limit",
                                "time_in_force": "day", "limit_price": "99.98"})
    assert (reply.json()["qty"], reply.json()["limit_price"]) == ("0.3", "99.98")


def test_notional_market_order_is_sized_at_the_price(raw: TradingClient) -> None:
    sent = raw.submit_order(MarketOrderRequest(symbol="AAPL", notional=250.5, side="buy", time_in_force="day"))
    assert sent["notional"] == "250.5" and sent["qty"] is None
    assert raw.get_order_by_id(sent["id"])["filled_qty"] == "2.505"


def test_find_by_client_order_id_with_url_characters(client: TradingClient) -> None:
    order = client.submit_order(_request("limit", TimeInForce.DAY, client_order_id="my id/with?chars&=+"))
    found = client.get_order_by_client_id("my id/with?chars&=+")
    assert found.id == order.id


def test_list_orders_filters(emulator: AlpacaEmulator, client: TradingClient) -> None:
    filled = client.submit_order(_request("market", TimeInForce.DAY))
    resting = client.submit_order(_request("limit", TimeInForce.DAY))
    sell = client.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side="sell", time_in_force="gtc",
                                                 limit_price=120))  # above the price: rests
    emulator.set_price("MSFT", "400")
    other = client.submit_order(MarketOrderRequest(symbol="MSFT", qty=1, side="buy", time_in_force="day"))

    def ids(**filters) -> list:
        return [o.id for o in client.get_orders(GetOrdersRequest(**filters))]

    assert ids() == [sell.id, resting.id]  # default: open, newest first
    assert ids(status=QueryOrderStatus.CLOSED, direction="asc") == [filled.id, other.id]
    assert ids(status=QueryOrderStatus.ALL, direction="asc") == [filled.id, resting.id, sell.id, other.id]
    assert ids(status=QueryOrderStatus.ALL, side=OrderSide.SELL) == [sell.id]
    assert ids(status=QueryOrderStatus.ALL, symbols=["MSFT"]) == [other.id]
    assert ids(status=QueryOrderStatus.ALL, symbols=["AAPL", "MSFT"], limit=2) == [other.id, sell.id]
    assert ids(status=QueryOrderStatus.ALL, after=resting.submitted_at, until=other.submitted_at) == [sell.id]
    assert ids(status=QueryOrderStatus.ALL, nested=True, direction="asc")[0] == filled.id
    with pytest.raises(APIError) as refused:
        client.get_orders(GetOrdersRequest(limit=501))
    assert refused.value.status_code == 422


def test_cancel_then_cancel_again_and_after_fill(client: TradingClient) -> None:
    resting = client.submit_order(_request("limit", TimeInForce.GTC))
    assert client.cancel_order_by_id(resting.id) is None  # 204, empty body
    canceled = client.get_order_by_id(resting.id)
    assert canceled.status == OrderStatus.CANCELED and canceled.canceled_at is not None
    filled = client.submit_order(_request("market", TimeInForce.DAY))
    for order_id in (resting.id, filled.id):
        with pytest.raises(APIError) as refused:
            client.cancel_order_by_id(order_id)
        assert (refused.value.status_code, refused.value.code, refused.value.message) == (
            422, 42210000, "order is not cancelable")


def test_cancel_all_answers_207_per_open_order(client: TradingClient) -> None:
    first = client.submit_order(_request("limit", TimeInForce.DAY))
    second = client.submit_order(_request("stop", TimeInForce.GTC))
    client.submit_order(_request("market", TimeInForce.DAY))
    results = client.cancel_orders()
    assert sorted(str(r.id) for r in results) == sorted([str(first.id), str(second.id)])
    assert {r.status for r in results} == {200}
    assert client.get_orders() == []
    assert client.cancel_orders() == []


def test_replace_makes_a_new_order_that_replaces_the_old(client: TradingClient, raw: TradingClient) -> None:
    old = client.submit_order(_request("limit", TimeInForce.DAY))
    new = client.replace_order_by_id(old.id, ReplaceOrderRequest(qty=5, limit_price=98.5, client_order_id="r1"))
    assert new.id != old.id and new.replaces == old.id and new.client_order_id == "r1"
    replaced = client.get_order_by_id(old.id)
    assert replaced.status == OrderStatus.REPLACED and replaced.replaced_by == new.id
    wire = raw.get_order_by_id(new.id)
    assert (wire["qty"], wire["limit_price"], wire["status"]) == ("5", "98.5", "new")
    with pytest.raises(APIError) as unchanged:
        client.replace_order_by_id(new.id, ReplaceOrderRequest(qty=5))
    assert (unchanged.value.status_code, unchanged.value.message) == (403, "order parameters are not changed")


def test_positions_close_and_account(emulator: AlpacaEmulator, client: TradingClient, raw: TradingClient) -> None:
    emulator.set_price("AAPL", "187.25")
    client.submit_order(MarketOrderRequest(symbol="AAPL", qty=4, side="buy", time_in_force="day"))
    emulator.set_price("TSLA", "250")
    client.submit_order(MarketOrderRequest(symbol="TSLA", qty=2, side="sell", time_in_force="day"))
    emulator.set_price("AAPL", "190")
    positions = {p.symbol: p for p in client.get_all_positions()}
    assert positions["TSLA"].side.value == "short" and positions["TSLA"].qty == "-2"
    aapl = raw.get_open_position("AAPL")
    assert (aapl["qty"], aapl["avg_entry_price"], aapl["cost_basis"], aapl["market_value"], aapl["unrealized_pl"]) == (
        "4", "187.25", "749", "760", "11")
    assert client.get_open_position(aapl["asset_id"]).symbol == "AAPL"
    account = raw.get_account()
    cash = Decimal("100000") - 4 * Decimal("187.25") + 2 * Decimal("250")
    assert Decimal(account["cash"]) == cash
    assert Decimal(account["equity"]) == cash + 4 * Decimal("190") - 2 * Decimal("250")
    assert client.get_account().status.value == "ACTIVE"

    closing = client.close_position("AAPL", ClosePositionRequest(qty="1.5"))
    assert closing.side == OrderSide.SELL and closing.qty == "1.5"
    assert raw.get_open_position("AAPL")["qty"] == "2.5"
    results = client.close_all_positions()
    assert sorted((r.symbol, r.status) for r in results) == [("AAPL", 200), ("TSLA", 200)]
    assert client.get_all_positions() == []
    with pytest.raises(APIError) as missing:
        client.get_open_position("AAPL")
    assert (missing.value.status_code, missing.value.message) == (404, "position does not exist")


def test_clock_parses(client: TradingClient) -> None:
    clock = client.get_clock()
    assert clock.is_open is True and clock.next_close > clock.timestamp and clock.next_open > clock.timestamp


@pytest.mark.parametrize("status", ["accepted", "new"])
def test_the_submit_reply_status_is_configurable(status: str) -> None:
    with AlpacaEmulator(submit_status=status, key=ALPACA_KEY, secret=ALPACA_SECRET) as emulator:
        order = make_client(emulator).submit_order(_request("limit", TimeInForce.DAY))
    assert order.status.value == status


def test_submission_times_are_strictly_increasing(client: TradingClient) -> None:
    # Orders within one microsecond must not tie, or after/until and direction would be ambiguous.
    sent = [client.submit_order(_request("limit", TimeInForce.GTC)).id for _ in range(20)]
    listed = client.get_orders(GetOrdersRequest(direction="asc"))
    assert [o.id for o in listed] == sent
    times = [o.submitted_at for o in listed]
    assert all(a < b for a, b in zip(times, times[1:]))
    assert [o.id for o in client.get_orders(GetOrdersRequest(direction="desc"))] == sent[::-1]
