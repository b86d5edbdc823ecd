"""Fixtures: the Alpaca emulator on a free loopback port, and the real alpaca-py pointed at it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.stream import TradingStream

from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


@pytest.fixture
def emulator() -> Iterator[AlpacaEmulator]:
    with AlpacaEmulator(key=ALPACA_KEY, secret=ALPACA_SECRET) as running:
        running.set_price("AAPL", "100")
        yield running


def make_client(emulator: AlpacaEmulator, key: str = ALPACA_KEY, secret: str = ALPACA_SECRET,
                raw: bool = False) -> TradingClient:
    """alpaca-py as the adapter will use it, with its retries off (§6.3) so faults surface now."""
    client = TradingClient(key, secret, paper=True, raw_data=raw, url_override=emulator.rest_url)
    client._retry = 0
    client._retry_wait = 0.01
    client._session.request = functools.partial(client._session.request, timeout=(3.05, 5))
    return client


@pytest.fixture
def client(emulator: AlpacaEmulator) -> TradingClient:
    return make_client(emulator)


@pytest.fixture
def raw(emulator: AlpacaEmulator) -> TradingClient:
    """The same, answering plain JSON: the exact decimal strings on the wire."""
    return make_client(emulator, raw=True)


@asynccontextmanager
async def trading_stream(emulator: AlpacaEmulator, frames: list[dict[str, Any]], key: str = ALPACA_KEY,
                         secret: str = ALPACA_SECRET) -> AsyncIterator[TradingStream]:
    """TradingStream on this test's loop (`_run_forever`, §6.2), collecting raw frames."""
    stream = TradingStream(key, secret, paper=True, raw_data=True, url_override=emulator.stream_url)
    stream._reconnect_min_backoff = 0.05
    stream._reconnect_max_backoff = 0.2

    async def collect(frame: dict[str, Any]) -> None:
        frames.append(frame)

    stream.subscribe_trade_updates(collect)
    task = asyncio.create_task(stream._run_forever())
    # A stop_ws() before _run_forever got going is forgotten by the SDK (it resets its stop
    # flag and drains its stop queue on entry): wait until it has begun.
    await wait_for(lambda: stream._stop_stream_event is not None)
    try:
        yield stream
    finally:
        await stream.stop_ws()
        await stream.close()  # wakes its receive at once rather than at the 5 s poll
        await asyncio.wait_for(task, 5)


async def wait_for(condition: Any, attempts: int = 500) -> None:
    """Poll a condition (≤ ~10 s) without asserting how long it takes."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


def events(frames: list[dict[str, Any]], order_id: Any = None) -> list[str]:
    """The event names received, optionally for one order."""
    return [f["data"]["event"] for f in frames
            if order_id is None or f["data"]["order"]["id"] == str(order_id)]


@asynccontextmanager
async def adapter(emulator: AlpacaEmulator, **options: Any) -> AsyncIterator[Any]:
    """The real AlpacaClient against the emulator, started, its stream listening; fast knobs."""
    from execution_server.brokers.alpaca.client import AlpacaClient

    client = AlpacaClient(ALPACA_KEY, ALPACA_SECRET, emulator.rest_url, emulator.stream_url, paper=True,
                          http_timeout=options.pop("http_timeout", (1.0, 2.0)),
                          reconnect_backoff=(0.05, 0.2), **options)
    await client.start()
    try:
        await emulator.wait_for_listeners(1)
        yield client
    finally:
        await client.close()


class Collector:
    """Reads an adapter's events() in the background into a list."""

    def __init__(self, client: Any) -> None:
        self.events: list[Any] = []
        self._task = asyncio.create_task(self._read(client))

    async def _read(self, client: Any) -> None:
        async for event in client.events():
            self.events.append(event)

    def of(self, kind: type, client_order_id: str | None = None) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)
                and (client_order_id is None or getattr(e, "client_order_id", None) == client_order_id)]

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
