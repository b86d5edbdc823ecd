"""The emulator's lifecycle: `EmulatorServer` on the running event loop (the CLI), and
`AlpacaEmulator`, the same on a loop in a thread of its own, with a thread-safe control API.

A thread of its own because alpaca-py's REST client is synchronous: a test calling it from
its event loop would otherwise block the very loop that has to answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from execution_server.brokers.alpaca.emulator.config import EmulatorConfig
from execution_server.brokers.alpaca.emulator.control import Controls
from execution_server.brokers.alpaca.emulator.exchange import Exchange
from execution_server.brokers.alpaca.emulator.faults import FaultPlan
from execution_server.brokers.alpaca.emulator.http11 import HttpServer, Request, Response
from execution_server.brokers.alpaca.emulator.rest import RestApi
from execution_server.brokers.alpaca.emulator.stream import StreamHub
from execution_server.brokers.alpaca.emulator.wire import encode

T = TypeVar("T")


class EmulatorServer:
    """REST `/v2`, the control paths `/_emulator/...` and the stream, on one port."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.exchange = Exchange(self.config)
        self.faults = FaultPlan(self.config.rate_limit_per_minute)
        self.hub = StreamHub(self.config)
        self.exchange.sinks.append(self.hub.publish)
        self.controls = Controls(self.exchange, self.faults, self.hub)
        self.rest = RestApi(self.config, self.exchange, self.faults)
        self._http = HttpServer(self._handle, self.config.stream_path, self.hub.serve)
        self.host = ""
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen (port 0: a free one) and return the port."""
        self.host = host
        self.port = await self._http.start(host, port)
        return self.port

    async def stop(self) -> None:
        self.hub.drop(clean=True)
        await self._http.stop()

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"  # no trailing slash: the SDK appends /v2 (§1)

    @property
    def stream_url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.config.stream_path}"

    async def _handle(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return await self.controls.handle(request)
        if request.path.startswith("/v2/"):
            return await self.rest.handle(request)
        return Response(404, encode({"code": 40410000, "message": "endpoint not found"}))


class AlpacaEmulator:
    """The emulator in a background thread, for tests and embedding.

        async with AlpacaEmulator() as emulator:       # or `with AlpacaEmulator() as emulator:`
            client = TradingClient("KEY", "SECRET", paper=True, url_override=emulator.rest_url)
            emulator.set_price("AAPL", "187.25", available="5")
            emulator.fail_next(504, after_processing=True)

    Every control method is synchronous and thread-safe: it runs on the emulator's loop and
    returns once the change is made (events it causes are already written to the sockets)."""

    def __init__(self, config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 **settings: Any) -> None:
        self.server = EmulatorServer(config or EmulatorConfig(**settings))
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> AlpacaEmulator:
        if self._thread is not None:
            return self
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.server.start(self._host, self._port))
            except BaseException as error:  # e.g. the port is taken: re-raised in start()
                failure.append(error)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="alpaca-emulator", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Idempotent: closes every connection and joins the thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> AlpacaEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def __aenter__(self) -> AlpacaEmulator:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def rest_url(self) -> str:
        return self.server.rest_url

    @property
    def stream_url(self) -> str:
        return self.server.stream_url

    @property
    def config(self) -> EmulatorConfig:
        return self.server.config

    # ---- the control API (see Controls for each one's meaning) --------------------------

    def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._loop is None or self._thread is None:
            raise RuntimeError("the emulator is not running")

        async def call() -> T:
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def set_price(self, symbol: str, price: Any, available: Any = None) -> None:
        self._call(self.server.controls.set_price, symbol, price, available)

    def fail_next(self, status: int, count: int = 1, after_processing: bool = False) -> None:
        self._call(self.server.controls.fail_next, status, count, after_processing)

    def delay(self, seconds: float, count: int | None = None) -> None:
        self._call(self.server.controls.delay, seconds, count)

    def clear_faults(self) -> None:
        self._call(self.server.controls.clear_faults)

    def reject_next_order(self, message: str = "insufficient buying power", code: int = 40310000,
                          status: int = 403, via_event: bool = False) -> None:
        self._call(self.server.controls.reject_next_order, message, code, status, via_event)

    def cancel_order(self, order_id: str, notify: bool = True) -> None:
        self._call(self.server.controls.cancel_order, order_id, notify)

    def set_position(self, symbol: str, qty: Any, avg_entry_price: Any = None) -> None:
        self._call(self.server.controls.set_position, symbol, qty, avg_entry_price)

    def expire_day_orders(self) -> int:
        return self._call(self.server.controls.expire_day_orders)

    def drop_stream(self, clean: bool = False) -> int:
        return self._call(self.server.controls.drop_stream, clean)

    def silence_stream(self, silent: bool = True) -> int:
        return self._call(self.server.controls.silence_stream, silent)

    def state(self) -> dict[str, Any]:
        """Orders, submissions, positions, account and stream counters, as JSON-ready data."""
        return self._call(self.server.controls.state)

    def orders(self) -> list[dict[str, Any]]:
        return self._call(lambda: [order.to_json() for order in self.server.exchange.orders.values()])

    def submissions(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        """Every POST /v2/orders body that reached the emulator (optionally for one client id)."""
        bodies = self._call(lambda: list(self.server.exchange.submissions))
        return [b for b in bodies if client_order_id is None or b.get("client_order_id") == client_order_id]

    def stream_listeners(self) -> int:
        """Connections that authenticated, listen to trade_updates and are not silenced."""
        return self._call(self.server.hub.listeners)

    def stream_authentications(self) -> int:
        return self._call(lambda: self.server.hub.authentications)

    async def wait_for_listeners(self, count: int = 1, attempts: int = 500) -> None:
        """Wait (≤ ~10 s) until `count` stream connections listen: events sent before are lost."""
        for _ in range(attempts):
            if await asyncio.to_thread(self.stream_listeners) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"fewer than {count} stream listeners")
