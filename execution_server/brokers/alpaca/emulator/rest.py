"""The `/v2` REST routes (ALPACA_API.md §2): authentication, faults, then the Exchange."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from execution_server.brokers.alpaca.emulator.clock import clock_json
from execution_server.brokers.alpaca.emulator.config import EmulatorConfig
from execution_server.brokers.alpaca.emulator.exchange import Exchange
from execution_server.brokers.alpaca.emulator.faults import FaultPlan
from execution_server.brokers.alpaca.emulator.http11 import Request, Response
from execution_server.brokers.alpaca.emulator.wire import ApiError, encode, invalid, parse_body

Route = Callable[[Request, "re.Match[str]"], Response]


def _json(payload: Any, status: int = 200) -> Response:
    return Response(status, encode(payload))


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")  # alpaca-py sends Python's `True`


def _moment(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:  # a hand-typed `+00:00` arrives as a space once the query is decoded
        moment = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise invalid(f"invalid {name}: {value}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class RestApi:
    """Routes one `/v2` request; the literal-colon path is matched before `/orders/{id}`."""

    def __init__(self, config: EmulatorConfig, exchange: Exchange, faults: FaultPlan) -> None:
        self.config = config
        self.exchange = exchange
        self.faults = faults
        self.routes: list[tuple[str, re.Pattern[str], Route]] = [
            ("GET", re.compile(r"/v2/orders:by_client_order_id"), self.order_by_client_id),
            ("POST", re.compile(r"/v2/orders"), self.submit),
            ("GET", re.compile(r"/v2/orders"), self.list_orders),
            ("DELETE", re.compile(r"/v2/orders"), self.cancel_all),
            ("GET", re.compile(r"/v2/orders/(?P<id>[^/]+)"), self.order),
            ("DELETE", re.compile(r"/v2/orders/(?P<id>[^/]+)"), self.cancel),
            ("PATCH", re.compile(r"/v2/orders/(?P<id>[^/]+)"), self.replace),
            ("GET", re.compile(r"/v2/positions"), lambda _r, _m: _json(self.exchange.positions())),
            ("DELETE", re.compile(r"/v2/positions"), self.close_all),
            ("GET", re.compile(r"/v2/positions/(?P<key>[^/]+)"),
             lambda _r, m: _json(self.exchange.position(m["key"]))),
            ("DELETE", re.compile(r"/v2/positions/(?P<key>[^/]+)"), self.close_position),
            ("GET", re.compile(r"/v2/account"), lambda _r, _m: _json(self.exchange.account())),
            ("GET", re.compile(r"/v2/clock"), lambda _r, _m: _json(clock_json(self.config.market_open))),
            # Market data (Alpaca's data host; here the same port): the latest trade per symbol.
            ("GET", re.compile(r"/v2/stocks/trades/latest"), self.latest_trades),
        ]

    async def handle(self, request: Request) -> Response:
        delay = self.faults.next_delay()
        if delay:
            await asyncio.sleep(delay)
        limited = self.faults.rate_limited()
        if limited is not None:
            return limited
        fault = self.faults.next_fault()
        if fault is not None and not fault.after_processing:
            return self.faults.render(fault.status)
        if (request.headers.get("apca-api-key-id") != self.config.key
                or request.headers.get("apca-api-secret-key") != self.config.secret):
            return _json({"message": "unauthorized"}, 401)
        response = self._route(request)
        if fault is not None:  # it happened; the caller just never hears so
            return self.faults.render(fault.status)
        if self.config.rate_limit_per_minute is not None:
            response.headers.update(self.faults.headers())
        return response

    def _route(self, request: Request) -> Response:
        allowed = False
        for method, pattern, route in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            allowed = True
            if method == request.method:
                try:
                    return route(request, match)
                except ApiError as error:
                    return _json(error.body, error.status)
        if allowed:
            return _json({"code": 40510000, "message": "method not allowed"}, 405)
        return _json({"code": 40410000, "message": "endpoint not found"}, 404)

    # ---- market data --------------------------------------------------------------------

    def latest_trades(self, request: Request, _match: re.Match[str]) -> Response:
        """Only symbols whose price was set have a trade (so a test can ask for one that has
        none). Prices are JSON numbers here, as Alpaca's data API sends them."""
        symbols = [s for s in (request.query.get("symbols") or "").split(",") if s]
        if not symbols:
            raise invalid("symbols is required")
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        trades = [
            f'"{symbol}":{{"t":"{now}","x":"V","p":{self.exchange.prices[symbol]},"s":100,"c":["@"],"i":1,"z":"C"}}'
            for symbol in symbols
            if symbol in self.exchange.prices
        ]
        return Response(200, ('{"trades":{' + ",".join(trades) + "}}").encode())

    # ---- orders -------------------------------------------------------------------------

    def submit(self, request: Request, _match: re.Match[str]) -> Response:
        _order, reply = self.exchange.submit(parse_body(request.body))
        return _json(reply)

    def list_orders(self, request: Request, _match: re.Match[str]) -> Response:
        query = request.query
        status = query.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise invalid(f"invalid status: {status}")
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise invalid("limit must be an integer") from None
        if not 0 < limit <= 500:
            raise invalid("limit must be between 1 and 500")
        direction = query.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise invalid(f"invalid direction: {direction}")
        side = query.get("side") or None
        if side not in (None, "buy", "sell"):
            raise invalid(f"invalid side: {side}")
        symbols = {s for s in query["symbols"].split(",") if s} if query.get("symbols") else None
        after, until = _moment("after", query.get("after")), _moment("until", query.get("until"))
        orders = [
            order for order in self.exchange.list_orders(status, side, symbols)
            if (after is None or order.submitted_at > after) and (until is None or order.submitted_at < until)
        ]
        orders.sort(key=lambda order: order.submitted_at, reverse=direction == "desc")
        return _json([order.to_json() for order in orders[:limit]])

    def order(self, _request: Request, match: re.Match[str]) -> Response:
        return _json(self.exchange.get(match["id"]).to_json())

    def order_by_client_id(self, request: Request, _match: re.Match[str]) -> Response:
        client_order_id = request.query.get("client_order_id")
        if not client_order_id:
            raise invalid("client_order_id is required")
        return _json(self.exchange.by_client_id(client_order_id).to_json())

    def cancel(self, _request: Request, match: re.Match[str]) -> Response:
        self.exchange.cancel(match["id"])
        return Response(204)

    def cancel_all(self, _request: Request, _match: re.Match[str]) -> Response:
        return _json(self.exchange.cancel_all(), 207)

    def replace(self, request: Request, match: re.Match[str]) -> Response:
        return _json(self.exchange.replace(match["id"], parse_body(request.body)).to_json())

    # ---- positions ----------------------------------------------------------------------

    def close_position(self, request: Request, match: re.Match[str]) -> Response:
        reply = self.exchange.close_position(match["key"], request.query.get("qty"), request.query.get("percentage"))
        return _json(reply)

    def close_all(self, request: Request, _match: re.Match[str]) -> Response:
        return _json(self.exchange.close_all_positions(_true(request.query.get("cancel_orders"))), 207)
