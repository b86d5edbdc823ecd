"""alpaca-py's TradingStream against the emulator's trade_updates websocket (§5)."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, ReplaceOrderRequest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from execution_server.brokers.alpaca.emulator import AlpacaEmulator

from .conftest import events, trading_stream, wait_for
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


def _market(qty: float = 10) -> MarketOrderRequest:
    return MarketOrderRequest(symbol="AAPL", qty=qty, side="buy", time_in_force="day")


async def test_market_order_streams_new_then_fill(emulator: AlpacaEmulator, client: TradingClient) -> None:
    frames: list[dict[str, Any]] = []
    async with trading_stream(emulator, frames):
        await emulator.wait_for_listeners()
        order = await asyncio.to_thread(client.submit_order, _market())
        await wait_for(lambda: events(frames) == ["new", "fill"])
    fill = frames[1]["data"]
    assert (fill["qty"], fill["price"], fill["position_qty"]) == ("10", "100", "10")
    assert uuid.UUID(fill["execution_id"]) and fill["timestamp"].endswith("Z")
    assert fill["order"]["id"] == str(order.id) and fill["order"]["status"] == "filled"
    for frame in frames:  # what the SDK's model makes of each, had raw_data been off
        TradeUpdate(**frame["data"])


async def test_capped_liquidity_streams_partial_fills(emulator: AlpacaEmulator, client: TradingClient) -> None:
    frames: list[dict[str, Any]] = []
    async with trading_stream(emulator, frames):
        await emulator.wait_for_listeners()
        emulator.set_price("AAPL", "100", available="4")
        await asyncio.to_thread(client.submit_order, _market())
        await wait_for(lambda: events(frames) == ["new", "partial_fill"])
        await asyncio.to_thread(emulator.set_price, "AAPL", "101", "5")
        await wait_for(lambda: len(frames) == 3)
        await asyncio.to_thread(emulator.set_price, "AAPL", "102")
        await wait_for(lambda: len(frames) == 4)
    data = [f["data"] for f in frames[1:]]
    assert [d["event"] for d in data] == ["partial_fill", "partial_fill", "fill"]
    assert [(d["qty"], d["price"], d["position_qty"]) for d in data] == [
        ("4", "100", "4"), ("5", "101", "9"), ("1", "102", "10")]
    assert [d["order"]["filled_qty"] for d in data] == ["4", "9", "10"]
    assert data[-1]["order"]["filled_avg_price"] == str((4 * 100 + 5 * 101 + 102) / Decimal(10))


async def test_cancel_expire_reject_and_replace_events(emulator: AlpacaEmulator, client: TradingClient) -> None:
    frames: list[dict[str, Any]] = []

    def limit(price: float) -> LimitOrderRequest:
        return LimitOrderRequest(symbol="AAPL", qty=1, side="buy", time_in_force="day", limit_price=price)

    async with trading_stream(emulator, frames):
        await emulator.wait_for_listeners()
        canceled = await asyncio.to_thread(client.submit_order, limit(90))
        await asyncio.to_thread(client.cancel_order_by_id, canceled.id)
        behind = await asyncio.to_thread(client.submit_order, limit(91))
        await asyncio.to_thread(emulator.cancel_order, str(behind.id))
        hidden = await asyncio.to_thread(client.submit_order, limit(92))
        await asyncio.to_thread(emulator.cancel_order, str(hidden.id), False)
        emulator.reject_next_order("account is not allowed to short", via_event=True)
        rejected = await asyncio.to_thread(client.submit_order, limit(93))
        old = await asyncio.to_thread(client.submit_order, limit(94))
        new = await asyncio.to_thread(client.replace_order_by_id, old.id, ReplaceOrderRequest(limit_price=95))
        assert await asyncio.to_thread(emulator.expire_day_orders) == 1
        await wait_for(lambda: events(frames, new.id) == ["new", "expired"])
    assert events(frames, canceled.id) == ["new", "canceled"]
    assert events(frames, behind.id) == ["new", "canceled"]
    assert events(frames, hidden.id) == ["new"]  # its cancellation never reached the stream
    assert (await asyncio.to_thread(client.get_order_by_id, hidden.id)).status.value == "canceled"
    assert events(frames, rejected.id) == ["rejected"]
    assert events(frames, old.id) == ["new", "replaced"]
    replaced = next(f["data"]["order"] for f in frames if f["data"]["event"] == "replaced")
    assert replaced["replaced_by"] == str(new.id) and replaced["replaced_at"]
    for frame in frames:
        TradeUpdate(**frame["data"])


async def _handshake(emulator: AlpacaEmulator, secret: str, listen_first: bool = False) -> list[Any]:
    async with connect(emulator.stream_url) as socket:
        if listen_first:
            await socket.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
            return [json.loads(await socket.recv())]
        await socket.send(json.dumps({"action": "authenticate", "data": {"key_id": ALPACA_KEY, "secret_key": secret}}))
        replies = [await socket.recv()]
        if secret == ALPACA_SECRET:
            await socket.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
            replies.append(await socket.recv())
        else:
            await socket.wait_closed()
        return replies


async def test_handshake_frames_are_binary_json(emulator: AlpacaEmulator) -> None:
    authorized, listening = await _handshake(emulator, ALPACA_SECRET)
    assert isinstance(authorized, bytes)
    assert json.loads(authorized) == {"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}}
    assert json.loads(listening) == {"stream": "listening", "data": {"streams": ["trade_updates"]}}


async def test_wrong_secret_gets_the_unauthorized_frame_then_close(emulator: AlpacaEmulator) -> None:
    (reply,) = await _handshake(emulator, "WRONG")
    assert json.loads(reply) == {"stream": "authorization", "data": {"status": "unauthorized", "action": "authenticate"}}


async def test_listen_before_authenticate_is_unauthorized(emulator: AlpacaEmulator) -> None:
    (reply,) = await _handshake(emulator, ALPACA_SECRET, listen_first=True)
    assert reply == {"stream": "authorization", "data": {"status": "unauthorized", "action": "listen"}}


async def test_the_sdk_with_a_wrong_secret_never_listens(emulator: AlpacaEmulator) -> None:
    frames: list[dict[str, Any]] = []
    async with trading_stream(emulator, frames, secret="WRONG"):
        # The SDK backs off and tries again, for ever (§6.2): each time refused.
        await wait_for(lambda: emulator.state()["stream"]["refusals"] >= 2)
        assert emulator.stream_authentications() == 0 and emulator.stream_listeners() == 0


async def test_strict_mode_answers_429_to_a_second_connection() -> None:
    async with AlpacaEmulator(strict_stream=True, key=ALPACA_KEY, secret=ALPACA_SECRET) as emulator:
        async with connect(emulator.stream_url) as first:
            await first.send(json.dumps({"action": "authenticate", "data": {"key_id": ALPACA_KEY, "secret_key": ALPACA_SECRET}}))
            await first.recv()
            with pytest.raises(InvalidStatus) as refused:
                async with connect(emulator.stream_url):
                    pass
            assert refused.value.response.status_code == 429
        await wait_for(lambda: emulator.state()["stream"]["connections"] == 0)
        async with connect(emulator.stream_url):  # the slot is free again
            pass
