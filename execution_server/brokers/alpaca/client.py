"""AlpacaClient: the BrokerClient port on alpaca-py's TradingClient (REST) and TradingStream.

REST: alpaca-py is synchronous (requests) and has no timeout (ALPACA_API.md §6.1), so every
call runs in a small thread pool, bounded, with an explicit HTTP timeout, after taking a token
from the request budget (rate_limit.py; cancels first, and cancels have threads of their own so
that reads filling the pool cannot hold up the kill switch). Alpaca's X-Ratelimit-* headers feed
the budget: a response hook keeps them, on the pool thread, and the loop applies them when the
call returns (not one wake-up of the loop more per request). The SDK's own blind retry of 429/504 is off for every call: it
re-sends a POST (§6.1), and a 429 is handled here, by waiting Alpaca's reset within a deadline
(a 429 is refused unprocessed, so sending again is safe). Errors leave only as the port's
(errors.translated).

The stream: see stream.py. It runs on the service's loop (`_run_forever`, not `run()`, §6.2).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockLatestTradeRequest
from alpaca.trading.client import TradingClient
from alpaca.common.enums import Sort
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest

from execution_server.brokers.alpaca.http_session import ApiSession
from execution_server.brokers.alpaca.hosts import LIVE_URL, PAPER_URL, stream_url_for
from execution_server.brokers.alpaca.errors import CallKind, NotFoundAtAlpaca, RateLimited, translated
from execution_server.brokers.alpaca.mapping import MalformedPayload, UnmappedValue, broker_order_from, order_request_for
from execution_server.brokers.alpaca.rate_limit import Lane, OrderOverBudget, RequestBudget, ServerBudget
from execution_server.brokers.alpaca.stream import EventFeed, WatchedStream
from execution_server.brokers.conveniences import BrokerConveniences
from execution_server.brokers.base import (
    BrokerAccount,
    BrokerAck,
    BrokerError,
    BrokerEvent,
    BrokerOrder,
    BrokerPosition,
    BrokerUnavailable,
    CancelRefused,
)
from execution_server.domain.orders import Order

if TYPE_CHECKING:
    from execution_server.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

HTTP_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds, for every request
MAX_CONCURRENT = 4  # REST calls in flight, besides cancels
CANCEL_THREADS = 2  # kept for cancels alone
SUBMIT_DEADLINE = 10.0  # a new order waits this long for budget or Alpaca's 429 reset, then is rejected
CANCEL_DEADLINE = 15.0
READ_DEADLINE = 10.0
PAGE = 500  # Alpaca's largest page of orders
# Orders changed since the last event are looked for from this much earlier (clock skew between
# Alpaca's timestamps and ours, and events in flight when the link dropped).
RECOVERY_MARGIN = timedelta(seconds=60)


PRICE_REFRESH_SECONDS = 30.0


class AlpacaClient(BrokerConveniences):
    """The Alpaca adapter. The library form: AlpacaClient(api_key=…, secret_key=…, paper=True), and
    base_url=… for another host (the emulator); the stream URL is derived from it as the
    service's settings derive theirs (hosts.stream_url_for)."""

    name = "alpaca"

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        base_url: str | None = None,
        stream_url: str | None = None,
        paper: bool = True,
        *,
        http_timeout: tuple[float, float] = HTTP_TIMEOUT,
        budget: RequestBudget | None = None,
        submit_deadline: float = SUBMIT_DEADLINE,
        cancel_deadline: float = CANCEL_DEADLINE,
        read_deadline: float = READ_DEADLINE,
        reconnect_backoff: tuple[float, float] = (1.0, 30.0),
        data_url: str | None = None,
        price_refresh_seconds: float = PRICE_REFRESH_SECONDS,
    ) -> None:
        self.base_url = (base_url or (PAPER_URL if paper else LIVE_URL)).rstrip("/")  # the SDK appends /v2 (§1)
        self.stream_url = stream_url or stream_url_for(self.base_url)
        self.paper = paper
        self._budget = budget or RequestBudget()
        self._deadlines = {Lane.SUBMIT: submit_deadline, Lane.CANCEL: cancel_deadline, Lane.READ: read_deadline}
        self._trading = TradingClient(api_key, secret_key, paper=paper, url_override=self.base_url, raw_data=True)
        # Off for every call: a blind re-send of a POST after 504 is a second order (§6.1); 429s
        # are waited out here, against Alpaca's reset time.
        self._trading._retry = 0
        self._trading._retry_wait = 0
        self._trading._session = ApiSession(self.base_url, http_timeout)
        self._trading._session.hooks["response"].append(self._on_response)
        # Market data for risk's reference prices: the latest trade, from Alpaca's data host.
        self._data = StockHistoricalDataClient(api_key, secret_key, url_override=data_url, raw_data=True)
        self._data._retry = 0
        self._data._session = ApiSession(data_url or "https://data.alpaca.markets", http_timeout)
        self._price_refresh_seconds = price_refresh_seconds
        self._price_task: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(MAX_CONCURRENT + CANCEL_THREADS, thread_name_prefix="alpaca-rest")
        self._slots: asyncio.Semaphore | None = None
        self._cancel_slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # (whether it was a 429, X-Ratelimit-Limit, -Remaining, -Reset): appended by the hook on
        # a pool thread, applied on the loop (deque's append and popleft are thread-safe).
        self._heard: collections.deque[tuple[bool, str | None, str | None, str | None]] = collections.deque()
        self._feed = EventFeed(self._recover)
        self._stream = WatchedStream(api_key, secret_key, paper=paper, raw_data=True, url_override=self.stream_url,
                                     on_listening=self._feed.on_listening, on_closed=self._feed.on_closed)
        self._stream._reconnect_min_backoff, self._stream._reconnect_max_backoff = reconnect_backoff
        self._stream.subscribe_trade_updates(self._feed.on_frame)
        self._stream_task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AlpacaClient:
        return cls(
            settings.alpaca_api_key,
            settings.alpaca_secret_key,
            settings.alpaca_base_url,
            settings.effective_alpaca_stream_url,
            paper=settings.trading_mode == "PAPER",
            data_url=settings.alpaca_data_url,
            **options,
        )

    # --- lifecycle ---

    async def start(self) -> None:
        if self._stream_task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self._cancel_slots = asyncio.Semaphore(CANCEL_THREADS)
        self._stream_task = asyncio.create_task(self._stream._run_forever(), name="alpaca-trade-updates")
        # A stop_ws() before _run_forever has begun is forgotten by the SDK (§6.2).
        while self._stream._stop_stream_event is None and not self._stream_task.done():
            await asyncio.sleep(0.01)
        # Orders open at Alpaca now: their fills so far are Alpaca's cumulative figures, which the
        # service's start-up recovery settles; the guard counts only what comes after them.
        try:
            for order in await self.open_orders():
                self._feed.book.seed(order)
        except BrokerError as error:
            log.warning("Alpaca's open orders not read at start (%s); the first reconciliation will", error)
        self._price_task = asyncio.create_task(self._refresh_prices_forever(), name="alpaca-reference-prices")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._feed.stopping = True
        if self._price_task is not None:
            self._price_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._price_task
        if self._stream_task is not None:
            await self._stream.stop_ws()
            await self._stream.close()  # wakes its receive at once, not at its 5 s poll
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._stream_task, 5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- reference prices ---

    async def prepare_price(self, symbol: str) -> None:
        """The first order for a symbol: look its latest trade up (bounded by the caller) so that
        risk is not left without a price merely because nothing was traded here yet."""
        if symbol not in self._feed.prices:
            await self._look_up_prices([symbol])

    async def _look_up_prices(self, symbols: list[str]) -> None:
        request = StockLatestTradeRequest(symbol_or_symbols=symbols)
        trades = await self._rest(Lane.READ, CallKind.READ, self._data.get_stock_latest_trade, request)
        for symbol, trade in (trades or {}).items():
            price = _wire_price(trade.get("p"))
            if price is not None:
                self._feed.prices[symbol] = price

    async def _refresh_prices_forever(self) -> None:
        """Every symbol with a price here (an order or a fill seen) is refreshed in the background."""
        while True:
            await asyncio.sleep(self._price_refresh_seconds)
            symbols = sorted(self._feed.prices)
            if not symbols:
                continue
            try:
                await self._look_up_prices(symbols)
            except BrokerError as error:
                log.info("reference prices not refreshed (%s); the last ones stay", error)

    # --- the port ---

    async def submit(self, order: Order) -> BrokerAck:
        request = order_request_for(order)  # BrokerRejected, before anything is sent
        spec = order.spec
        self._feed.book.track(spec.client_order_id, quantity=spec.quantity)
        if spec.limit_price is not None:
            self._feed.prices.setdefault(spec.symbol, spec.limit_price)
        raw = await self._rest(Lane.SUBMIT, CallKind.SUBMIT, self._trading.submit_order, request)
        self._feed.book.track(spec.client_order_id, str(raw["id"]))
        return BrokerAck(str(raw["id"]), str(raw.get("status") or ""))

    async def cancel(self, order: Order) -> None:
        broker_order_id = order.broker_order_id
        if not broker_order_id:
            found = await self.find_by_client_id(order.client_order_id)
            if found is None:
                raise CancelRefused(f"Alpaca has no order {order.client_order_id}")
            broker_order_id = found.broker_order_id
        try:
            uuid.UUID(broker_order_id)
        except ValueError:  # alpaca-py refuses it locally, with a ValueError the port does not know
            raise CancelRefused(f"{broker_order_id!r} is not an Alpaca order id") from None
        await self._rest(Lane.CANCEL, CallKind.CANCEL, self._trading.cancel_order_by_id, broker_order_id)

    async def find_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        try:
            raw = await self._rest(Lane.READ, CallKind.READ, self._trading.get_order_by_client_id, client_order_id)
        except NotFoundAtAlpaca:
            return None
        return _read(broker_order_from, raw)

    async def open_orders(self) -> list[BrokerOrder]:
        """Alpaca's `status=open`, classified again here: which statuses Alpaca counts as open is
        undocumented (ALPACA_API.md §4), so an order it lists whose status is final for us is left
        out. One it might leave out that we hold open (done_for_day) is not lost: reconciliation
        looks up by client order id every open order of ours missing from this list."""
        orders = [order for order in await self._orders(QueryOrderStatus.OPEN, None) if order.status.is_open]
        return orders

    async def positions(self) -> list[BrokerPosition]:
        raw = await self._rest(Lane.READ, CallKind.READ, self._trading.get_all_positions)
        return [_read(_position_from, item) for item in raw]

    async def account(self) -> BrokerAccount:
        raw = await self._rest(Lane.READ, CallKind.READ, self._trading.get_account)
        return _read(_account_from, raw)

    def events(self) -> AsyncIterator[BrokerEvent]:
        return self._feed.events()

    def request_marker(self) -> object | None:
        return self._feed.mark()

    def reference_price(self, symbol: str) -> Decimal | None:
        """The last fill price seen for the symbol, else the limit price of an order sent for it;
        memory only. The market-data client (alpaca-py's StockHistoricalDataClient, latest trade
        from ALPACA_DATA_URL) is not wired in yet: this is its seam."""
        return self._feed.prices.get(symbol)

    @property
    def stream_up(self) -> bool:
        return self._feed.up

    # --- REST ---

    async def _rest(self, lane: Lane, kind: CallKind, call: Callable[..., T], *args: Any) -> T:
        """One REST call: budget, a thread, the port's errors; a 429 waited out and sent again
        until the lane's deadline (Alpaca refused it unprocessed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadlines[lane]
        slots = self._cancel_slots if lane is Lane.CANCEL else self._slots
        assert slots is not None, "AlpacaClient.start() has not been called"
        while True:
            self._apply_heard()  # a call abandoned by its caller may have left an answer behind
            await self._budget.acquire(lane, max(0.0, deadline - loop.time()))  # Order/OverBudget
            try:
                async with slots:
                    with translated(kind):
                        try:
                            return await loop.run_in_executor(self._pool, call, *args)
                        finally:
                            self._apply_heard()
            except RateLimited as limited:
                self._budget.refused(limited.server)
                log.warning("Alpaca rate limited a %s; waiting for its reset", lane.value)
                if loop.time() >= deadline:
                    raise self._over(lane, limited) from limited

    def _over(self, lane: Lane, limited: RateLimited) -> BrokerError:
        if lane is Lane.SUBMIT:
            return OrderOverBudget(f"RATE_LIMITED: {limited} until the order's deadline; not sent", broker_status="")
        return limited

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """requests' response hook, on a pool thread: Alpaca's count, kept for the loop. An
        answer that says nothing of it (and is no 429) changes nothing: observe() needs both
        the remaining count and the reset time."""
        headers = response.headers  # requests': case-insensitive
        remaining, refused = headers.get("X-Ratelimit-Remaining"), response.status_code == 429
        if remaining is not None or refused:
            self._heard.append((refused, headers.get("X-Ratelimit-Limit"), remaining, headers.get("X-Ratelimit-Reset")))

    def _apply_heard(self) -> None:
        """On the loop: what Alpaca's answers said of its count, to the budget, in order."""
        while self._heard:
            refused, *values = self._heard.popleft()
            server = ServerBudget.from_values(*values)
            if refused:
                self._budget.refused(server)
            else:
                self._budget.observe(server)

    async def _orders(self, status: QueryOrderStatus, after: datetime | None) -> list[BrokerOrder]:
        """Every order of a status submitted after `after`, page by page (oldest first)."""
        found: dict[str, BrokerOrder] = {}
        while True:
            request = GetOrdersRequest(status=status, limit=PAGE, direction=Sort.ASC, after=after)
            page = await self._rest(Lane.READ, CallKind.READ, self._trading.get_orders, request)
            for raw in page:
                try:
                    order = broker_order_from(raw)
                except (UnmappedValue, MalformedPayload) as error:
                    log.error("order %s at Alpaca not readable here, left out: %s", raw.get("id"), error)
                    continue
                found[order.broker_order_id] = order
            if len(page) < PAGE:
                return list(found.values())
            after = datetime.fromisoformat(page[-1]["submitted_at"])

    async def _recover(self, since: datetime | None) -> list[BrokerOrder]:
        """After a reconnect: the orders submitted since the last event (less a margin), and
        every order tracked as open, looked up by client order id."""
        orders: dict[str, BrokerOrder] = {}
        if since is not None:
            for order in await self._orders(QueryOrderStatus.ALL, since - RECOVERY_MARGIN):
                orders[order.client_order_id] = order
        for client_order_id in self._feed.book.open_ids():
            if client_order_id in orders:
                continue
            found = await self.find_by_client_id(client_order_id)
            if found is not None:
                orders[client_order_id] = found
        return list(orders.values())


def _read(convert: Callable[[Any], T], raw: Any) -> T:
    try:
        return convert(raw)
    except (UnmappedValue, MalformedPayload, KeyError, TypeError, ArithmeticError) as error:
        raise BrokerUnavailable(f"Alpaca's answer not readable here: {error}") from error


def _position_from(raw: dict[str, Any]) -> BrokerPosition:
    quantity = Decimal(str(raw["qty"]))
    if raw.get("side") == "short" and quantity > 0:
        quantity = -quantity  # Alpaca signs short quantities (§3.2); never trust it blindly
    return BrokerPosition(str(raw["symbol"]), quantity, Decimal(str(raw["avg_entry_price"])))


def _account_from(raw: dict[str, Any]) -> BrokerAccount:
    return BrokerAccount(Decimal(str(raw["cash"])), Decimal(str(raw["buying_power"])), Decimal(str(raw["equity"])))


def _wire_price(value: object) -> Decimal | None:
    """Alpaca's data API sends prices as JSON numbers, which requests parses into floats. A
    float's repr is the shortest text that reads back to it, which is the text on the wire for
    any price written in shortest form (every exchange price): taken from that, never from the
    float's binary value. Not positive, or not a number: no price."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    price = Decimal(repr(value) if isinstance(value, float) else str(value))
    return price if price.is_finite() and price > 0 else None

