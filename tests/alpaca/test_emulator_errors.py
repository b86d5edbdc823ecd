"""The emulator's refusals carry Alpaca's status codes and bodies (ALPACA_API.md §3.5, §8)."""

from __future__ import annotations

import uuid

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import ClosePositionRequest, LimitOrderRequest, MarketOrderRequest

from execution_server.brokers.alpaca.emulator import AlpacaEmulator

from .conftest import make_client
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


def _order(client_order_id: str | None = None, limit: float = 90) -> LimitOrderRequest:
    return LimitOrderRequest(symbol="AAPL", qty=1, side="buy", time_in_force="day", limit_price=limit,
                             client_order_id=client_order_id)


def _refusal(call, *args) -> APIError:
    with pytest.raises(APIError) as refused:
        call(*args)
    return refused.value


def test_duplicate_client_order_id_is_refused_while_open_and_after_cancel(client: TradingClient) -> None:
    first = client.submit_order(_order("dup-1"))
    refused = _refusal(client.submit_order, _order("dup-1"))
    assert (refused.status_code, refused.code, refused.message) == (422, 40010001, "client_order_id must be unique")
    client.cancel_order_by_id(first.id)
    refused = _refusal(client.submit_order, _order("dup-1"))
    assert (refused.status_code, refused.code) == (422, 40010001)
    assert [o.id for o in client.get_orders()] == []  # neither attempt created an order


def test_client_order_id_of_128_chars_is_accepted_129_refused(client: TradingClient) -> None:
    assert client.submit_order(_order("x" * 128)).client_order_id == "x" * 128
    refused = _refusal(client.submit_order, _order("y" * 129))
    assert (refused.status_code, refused.code, refused.message) == (
        422, 40010001, "client_order_id must be no more than 128 characters")


def test_orders_without_client_order_id_get_a_uuid4(client: TradingClient) -> None:
    order = client.submit_order(_order())
    assert uuid.UUID(order.client_order_id).version == 4


def test_unknown_order_is_404_with_alpaca_body(client: TradingClient) -> None:
    unknown = uuid.uuid4()
    for call in (client.get_order_by_id, client.cancel_order_by_id):
        refused = _refusal(call, unknown)
        assert (refused.status_code, refused.code, refused.message) == (404, 40410000, "order not found")
    refused = _refusal(client.get_order_by_client_id, "nobody")
    assert (refused.status_code, refused.code) == (404, 40410000)


def test_wrong_key_is_401_without_a_code(emulator: AlpacaEmulator) -> None:
    for key, secret in ((ALPACA_KEY, "WRONG"), ("WRONG", ALPACA_SECRET)):
        refused = _refusal(make_client(emulator, key, secret).get_account)
        assert refused.status_code == 401 and str(refused) == '{"message":"unauthorized"}'
    bare = requests.get(emulator.rest_url + "/v2/account", timeout=5)
    assert (bare.status_code, bare.json()) == (401, {"message": "unauthorized"})


def test_sub_penny_prices_are_refused(client: TradingClient) -> None:
    refused = _refusal(client.submit_order, _order(limit=290.123))
    assert (refused.status_code, refused.code, refused.message) == (
        422, 42210000, "invalid limit_price 290.123. sub-penny increment does not fulfill minimum pricing criteria")
    assert client.submit_order(_order(limit=0.1234)).limit_price == "0.1234"  # below $1: four places


def test_close_position_refusals(emulator: AlpacaEmulator, client: TradingClient) -> None:
    client.submit_order(MarketOrderRequest(symbol="AAPL", qty=2, side="buy", time_in_force="day"))
    refused = _refusal(client.close_position, "AAPL", ClosePositionRequest(qty="3"))
    assert (refused.status_code, refused.code, refused.message) == (
        403, 40310000, "insufficient qty available for order (requested: 3, available: 2)")
    both = requests.delete(emulator.rest_url + "/v2/positions/AAPL?qty=1&percentage=50", timeout=5,
                           headers={"APCA-API-KEY-ID": ALPACA_KEY, "APCA-API-SECRET-KEY": ALPACA_SECRET})
    assert both.status_code == 422
    half = client.close_position("AAPL", ClosePositionRequest(percentage="50"))
    assert half.qty == "1"


def test_bodies_alpaca_py_would_not_send_are_refused_with_422(emulator: AlpacaEmulator) -> None:
    headers = {"APCA-API-KEY-ID": ALPACA_KEY, "APCA-API-SECRET-KEY": ALPACA_SECRET}
    for body in (
        {"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "day"},  # no qty
        {"symbol": "AAPL", "qty": 1, "notional": 5, "side": "buy", "type": "market", "time_in_force": "day"},
        {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "limit", "time_in_force": "day"},  # no limit
        {"symbol": "AAPL", "qty": 1, "side": "hold", "type": "market", "time_in_force": "day"},
        {"symbol": "AAPL", "qty": "abc", "side": "buy", "type": "market", "time_in_force": "day"},
    ):
        reply = requests.post(emulator.rest_url + "/v2/orders", json=body, headers=headers, timeout=5)
        assert reply.status_code == 422 and reply.json()["code"] == 40010001, body
    assert emulator.orders() == []
