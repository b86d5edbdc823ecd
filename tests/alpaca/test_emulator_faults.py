"""Each injectable fault, as alpaca-py meets it (ALPACA_API.md §6)."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import MarketOrderRequest
from websockets.asyncio.client import connect

from execution_server.brokers.alpaca.emulator import AlpacaEmulator

from .conftest import events, make_client, trading_stream, wait_for
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET

AUTH = {"APCA-API-KEY-ID": ALPACA_KEY, "APCA-API-SECRET-KEY": ALPACA_SECRET}


def _order(client_order_id: str = "c1") -> MarketOrderRequest:
    return MarketOrderRequest(symbol="AAPL", qty=1, side="buy", time_in_force="day", client_order_id=client_order_id)


def test_injected_429_carries_the_rate_limit_headers(emulator: AlpacaEmulator, client: TradingClient) -> None:
    emulator.fail_next(429)
    with pytest.raises(APIError) as refused:
        client.get_account()
    error = refused.value
    assert error.status_code == 429 and error.code == 42910000
    headers = error.response.headers
    assert headers["X-Ratelimit-Limit"] == "200" and headers["X-Ratelimit-Remaining"] == "0"
    assert int(headers["X-Ratelimit-Reset"]) > 0
    assert client.get_account().status.value == "ACTIVE"  # one call only


def test_the_sdk_retries_429_and_504_on_its_own(emulator: AlpacaEmulator, client: TradingClient) -> None:
    client._retry = 2
    emulator.fail_next(429)
    emulator.fail_next(504)
    assert client.get_clock().is_open is True


def test_injected_500_has_a_json_body(emulator: AlpacaEmulator, client: TradingClient) -> None:
    emulator.fail_next(500, count=2)
    for _ in range(2):
        with pytest.raises(APIError) as refused:
            client.get_orders()
        assert (refused.value.status_code, refused.value.code) == (500, 50010000)
    assert client.get_orders() == []


def test_injected_504_is_a_gateway_page_that_apierror_code_cannot_read(emulator: AlpacaEmulator,
                                                                        client: TradingClient) -> None:
    emulator.fail_next(504)
    with pytest.raises(APIError) as refused:
        client.submit_order(_order())
    assert refused.value.status_code == 504
    with pytest.raises(json.JSONDecodeError):
        refused.value.code  # noqa: B018 — the SDK parses the body on access (§6.1)
    assert emulator.orders() == []  # refused before processing


def test_a_504_after_processing_leaves_the_order_and_a_blind_resend_is_a_duplicate(
        emulator: AlpacaEmulator, client: TradingClient) -> None:
    client._retry = 1  # the SDK's own retry re-sends the POST (§6.1)
    emulator.fail_next(504, after_processing=True)
    with pytest.raises(APIError) as refused:
        client.submit_order(_order("once"))
    assert (refused.value.status_code, refused.value.code) == (422, 40010001)
    assert len(emulator.submissions("once")) == 2 and len(emulator.orders()) == 1
    assert client.get_order_by_client_id("once").status.value == "filled"


def test_a_slow_reply_times_out_the_client_then_the_next_is_prompt(emulator: AlpacaEmulator) -> None:
    client = make_client(emulator)
    client._session.request = functools.partial(client._session.request.func, timeout=(1, 0.2))
    emulator.delay(1.0, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.get_account()
    assert client.get_account().status.value == "ACTIVE"


def test_rate_limit_per_minute_gives_429_once_spent() -> None:
    with AlpacaEmulator(rate_limit_per_minute=3, key=ALPACA_KEY, secret=ALPACA_SECRET) as emulator:
        remaining = [requests.get(emulator.rest_url + "/v2/clock", headers=AUTH, timeout=5)
                     .headers["X-Ratelimit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        with pytest.raises(APIError) as refused:
            make_client(emulator).get_clock()
        assert refused.value.status_code == 429
        assert refused.value.response.headers["X-Ratelimit-Limit"] == "3"


def test_an_order_rejected_over_http_with_alpaca_code_and_message(emulator: AlpacaEmulator,
                                                                  client: TradingClient) -> None:
    emulator.reject_next_order("insufficient buying power", code=40310000, status=403)
    with pytest.raises(APIError) as refused:
        client.submit_order(_order("r1"))
    assert (refused.value.status_code, refused.value.code, refused.value.message) == (
        403, 40310000, "insufficient buying power")
    assert client.submit_order(_order("r1")).client_order_id == "r1"  # nothing was created


def test_a_position_changed_behind_the_back(emulator: AlpacaEmulator, raw: TradingClient) -> None:
    emulator.set_position("MSFT", "-7", "401.5")
    position = raw.get_open_position("MSFT")
    assert (position["qty"], position["side"], position["avg_entry_price"]) == ("-7", "short", "401.5")
    emulator.set_position("MSFT", "0")
    assert raw.get_all_positions() == []


def test_controls_over_http(emulator: AlpacaEmulator, client: TradingClient) -> None:
    control = emulator.rest_url + "/_emulator/"
    assert requests.post(control + "set_price", json={"symbol": "AAPL", "price": 123.45}, timeout=5).ok
    assert requests.post(control + "fail_next", json={"status": 500}, timeout=5).ok
    with pytest.raises(APIError):
        client.get_account()
    order = client.submit_order(_order())
    assert order.status.value == "pending_new"
    assert client.get_order_by_id(order.id).filled_avg_price == "123.45"
    assert requests.post(control + "nonsense", json={}, timeout=5).status_code == 404
    assert requests.post(control + "fail_next", json={"status": 418}, timeout=5).status_code == 400


async def test_a_dropped_stream_is_reconnected_by_the_sdk(emulator: AlpacaEmulator, client: TradingClient) -> None:
    frames: list[dict[str, Any]] = []
    async with trading_stream(emulator, frames):
        await emulator.wait_for_listeners()
        first = await asyncio.to_thread(client.submit_order, _order("before"))
        await wait_for(lambda: events(frames, first.id) == ["new", "fill"])
        assert await asyncio.to_thread(emulator.drop_stream) == 1
        await wait_for(lambda: emulator.stream_authentications() == 2)
        await emulator.wait_for_listeners()
        second = await asyncio.to_thread(client.submit_order, _order("after"))
        await wait_for(lambda: events(frames, second.id) == ["new", "fill"])


async def test_a_cleanly_closed_stream_is_reconnected_too(emulator: AlpacaEmulator) -> None:
    frames: list[dict[str, Any]] = []
    async with trading_stream(emulator, frames):
        await emulator.wait_for_listeners()
        assert await asyncio.to_thread(emulator.drop_stream, True) == 1
        await wait_for(lambda: emulator.stream_authentications() == 2)


async def test_a_silent_stream_stays_up_and_loses_events(emulator: AlpacaEmulator, client: TradingClient) -> None:
    frames: list[dict[str, Any]] = []
    async with trading_stream(emulator, frames):
        await emulator.wait_for_listeners()
        assert await asyncio.to_thread(emulator.silence_stream) == 1
        lost = await asyncio.to_thread(client.submit_order, _order("lost"))
        assert await asyncio.to_thread(emulator.silence_stream, False) == 1
        heard = await asyncio.to_thread(client.submit_order, _order("heard"))
        # One connection delivers in order: had `lost`'s events been sent, they came first.
        await wait_for(lambda: events(frames, heard.id) == ["new", "fill"])
        assert events(frames, lost.id) == []
        stream = emulator.state()["stream"]
        assert (stream["connections"], stream["authentications"]) == (1, 1)  # no reconnect


async def test_the_stream_answers_pings(emulator: AlpacaEmulator) -> None:
    async with connect(emulator.stream_url, ping_interval=None) as socket:
        pong = await socket.ping()
        await asyncio.wait_for(pong, 5)

