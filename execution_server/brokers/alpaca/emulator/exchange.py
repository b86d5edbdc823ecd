"""The emulated broker's book: orders, executions, positions and cash, and the trade_updates
events each change produces (ALPACA_API.md §5.4). No I/O: the REST and stream layers call in."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from execution_server.brokers.alpaca.emulator import matching
from execution_server.brokers.alpaca.emulator.config import EmulatorConfig
from execution_server.brokers.alpaca.emulator.orders import NOT_CANCELABLE, EmulatedOrder
from execution_server.brokers.alpaca.emulator.portfolio import Portfolio, position_json
from execution_server.brokers.alpaca.emulator.submission import parse_order, parse_replace
from execution_server.brokers.alpaca.emulator.wire import (
    FORBIDDEN, NOT_FOUND, UNPROCESSABLE, ApiError, decimal_text, invalid, now, timestamp, to_decimal,
)

EventSink = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Rejection:
    """How the next order is refused: over HTTP (`via_event=False`) or accepted, then `rejected`."""

    status: int
    code: int
    message: str
    via_event: bool


class Exchange:
    """All orders of one account, matched against settable prices; one instance per emulator."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.orders: dict[str, EmulatedOrder] = {}  # by id, in submission order
        self.client_ids: set[str] = set()  # every id ever used: unique for the account's life
        self.prices: dict[str, Decimal] = {}
        self.available: dict[str, Decimal | None] = {}  # liquidity left at the current price
        self.asset_ids: dict[str, str] = {}
        self.portfolio = Portfolio(config.starting_cash, now())
        self.sinks: list[EventSink] = []
        self.submissions: list[dict[str, Any]] = []  # every POST /v2/orders body that arrived
        self.next_rejections: list[Rejection] = []
        self._last_moment = now()

    # ---- orders -------------------------------------------------------------------------

    def submit(self, body: Any) -> tuple[EmulatedOrder, dict[str, Any]]:
        """Validate and record an order; returns it and the reply's snapshot (before it works)."""
        self.submissions.append(body if isinstance(body, dict) else {"body": body})
        fields = parse_order(body)
        client_order_id = fields.pop("client_order_id") or str(uuid.uuid4())
        self._claim(client_order_id)
        rejection = self.next_rejections.pop(0) if self.next_rejections else None
        if rejection is not None and not rejection.via_event:
            self.client_ids.discard(client_order_id)  # refused unprocessed: nothing was created
            raise ApiError(rejection.status, rejection.message, rejection.code)
        order = EmulatedOrder(
            **fields, client_order_id=client_order_id, asset_id=self._asset(fields["symbol"]),
            status=self.config.submit_status, submitted_at=self._now(),
        )
        self.orders[order.id] = order
        reply = order.to_json()
        if rejection is not None:
            self._finish(order, "rejected")
        else:
            self._accept(order)
        return order, reply

    def _claim(self, client_order_id: str) -> None:
        if len(client_order_id) > 128:
            raise invalid("client_order_id must be no more than 128 characters")
        if client_order_id in self.client_ids:
            raise invalid("client_order_id must be unique")
        self.client_ids.add(client_order_id)

    def _accept(self, order: EmulatedOrder) -> None:
        self._set_status(order, "new")
        self._emit("new", order)
        self._work(order)

    def get(self, order_id: str) -> EmulatedOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(404, "order not found", NOT_FOUND)
        return order

    def by_client_id(self, client_order_id: str) -> EmulatedOrder:
        for order in self.orders.values():
            if order.client_order_id == client_order_id:
                return order
        raise ApiError(404, "order not found", NOT_FOUND)

    def cancel(self, order_id: str) -> None:
        """DELETE /v2/orders/{id}: 204 or a 404/422 ApiError (§8 for the pending states)."""
        order = self.get(order_id)
        if order.status in NOT_CANCELABLE or order.status == "pending_replace":
            raise ApiError(422, "order is not cancelable", UNPROCESSABLE)
        if order.status == "pending_cancel":
            return
        self._finish(order, "canceled")

    def cancel_all(self) -> list[dict[str, Any]]:
        results = []
        for order in list(self.orders.values()):
            if order.is_open:
                self._finish(order, "canceled")
                results.append({"id": order.id, "status": 200})
        return results

    def replace(self, order_id: str, body: Any) -> EmulatedOrder:
        """PATCH: a new order (new id, `replaces`) takes the old one's place (§5.4)."""
        old = self.get(order_id)
        if not old.is_open or old.status in ("pending_cancel", "pending_replace"):
            raise ApiError(422, "order is not replaceable", UNPROCESSABLE)
        changes = parse_replace(body, old)
        if all(getattr(old, name) == value for name, value in changes.items() if name != "client_order_id"):
            raise ApiError(403, "order parameters are not changed", FORBIDDEN)
        client_order_id = changes.pop("client_order_id", None) or str(uuid.uuid4())
        self._claim(client_order_id)
        new = EmulatedOrder(
            symbol=old.symbol, asset_id=old.asset_id, side=old.side, type=old.type,
            time_in_force=changes.get("time_in_force", old.time_in_force), client_order_id=client_order_id,
            qty=changes.get("qty", old.qty), notional=None,
            limit_price=changes.get("limit_price", old.limit_price),
            stop_price=changes.get("stop_price", old.stop_price), extended_hours=old.extended_hours,
            status=self.config.submit_status, submitted_at=self._now(), replaces=old.id,
            position_intent=old.position_intent,
        )
        self.orders[new.id] = new
        old.replaced_by = new.id
        old.replaced_at = self._now()
        self._set_status(old, "replaced")
        self._emit("replaced", old)
        self._accept(new)
        return new

    def list_orders(self, status: str, side: str | None, symbols: set[str] | None) -> list[EmulatedOrder]:
        return [
            order for order in self.orders.values()
            if (status == "all" or (status == "open") == order.is_open)
            and (side is None or order.side == side)
            and (symbols is None or order.symbol in symbols)
        ]

    # ---- prices and matching ------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal, available: Decimal | None = None) -> None:
        """Move the symbol; `available` caps what may fill at this price (None: unlimited)."""
        if price <= 0:
            raise invalid("price must be positive")
        if available is not None and available < 0:
            raise invalid("available must not be negative")
        self.prices[symbol] = price
        self.available[symbol] = available
        for order in list(self.orders.values()):
            if order.symbol == symbol and order.is_open and order.status not in ("pending_new", "accepted"):
                self._work(order)

    def price(self, symbol: str) -> Decimal:
        return self.prices.get(symbol, self.config.default_price)

    def _work(self, order: EmulatedOrder) -> None:
        price = self.price(order.symbol)
        quantity = matching.fillable(order, price, self.available.get(order.symbol))
        if order.time_in_force == "fok" and quantity < order.remaining(price):
            self._finish(order, "canceled")
            return
        if quantity > 0:
            self._execute(order, quantity, price)
        if order.time_in_force in ("ioc", "fok") and order.is_open:
            self._finish(order, "canceled")

    def _execute(self, order: EmulatedOrder, quantity: Decimal, price: Decimal) -> None:
        left = self.available.get(order.symbol)
        if left is not None:
            self.available[order.symbol] = left - quantity
        order.filled_qty += quantity
        order.filled_value += quantity * price
        position = self.portfolio.apply_fill(order.symbol, order.side, quantity, price)
        done = order.filled_qty == order.qty
        self._set_status(order, "filled" if done else "partially_filled")
        if done:
            order.filled_at = order.updated_at
        self._emit("fill" if done else "partial_fill", order, {
            "execution_id": str(uuid.uuid4()), "price": decimal_text(price),
            "qty": decimal_text(quantity), "position_qty": decimal_text(position),
        })

    # ---- behind the service's back ------------------------------------------------------

    def expire_day_orders(self) -> int:
        """The session closes: every open DAY order expires."""
        expiring = [o for o in self.orders.values() if o.is_open and o.time_in_force in ("day", "opg", "cls")]
        for order in expiring:
            self._finish(order, "expired")
        return len(expiring)

    def cancel_behind(self, order_id: str, notify: bool) -> None:
        """Alpaca cancels on its own (a halt, an admin); `notify=False`: the event is lost."""
        order = self.get(order_id)
        if not order.is_open:
            raise ApiError(422, "order is not cancelable", UNPROCESSABLE)
        self._finish(order, "canceled", notify=notify)

    def set_position(self, symbol: str, qty: Decimal, avg_entry_price: Decimal | None) -> None:
        self.portfolio.set_holding(symbol, qty, avg_entry_price if avg_entry_price is not None else self.price(symbol))
        self._asset(symbol)

    # ---- positions ----------------------------------------------------------------------

    def positions(self) -> list[dict[str, Any]]:
        return [
            position_json(symbol, self._asset(symbol), held, self.price(symbol))
            for symbol, held in sorted(self.portfolio.holdings.items())
        ]

    def position(self, symbol_or_asset_id: str) -> dict[str, Any]:
        symbol, asset_id, held = self._holding(symbol_or_asset_id)
        return position_json(symbol, asset_id, held, self.price(symbol))

    def _holding(self, symbol_or_asset_id: str) -> tuple[str, str, Any]:
        for symbol, held in self.portfolio.holdings.items():
            if symbol_or_asset_id in (symbol, self._asset(symbol)):
                return symbol, self._asset(symbol), held
        raise ApiError(404, "position does not exist", NOT_FOUND)

    def close_position(self, symbol_or_asset_id: str, qty: Any = None, percentage: Any = None) -> dict[str, Any]:
        """DELETE /v2/positions/{symbol}: a market order for all, `qty` or `percentage` of it."""
        symbol, _, held = self._holding(symbol_or_asset_id)
        if qty is not None and percentage is not None:
            raise invalid("only one of qty or percentage may be given")
        size = abs(held.qty)
        if qty is not None:
            amount = to_decimal("qty", qty)
            assert amount is not None
            if amount <= 0:
                raise invalid("qty must be positive")
            if amount > size:
                raise ApiError(
                    403, f"insufficient qty available for order (requested: {decimal_text(amount)}, "
                    f"available: {decimal_text(size)})", FORBIDDEN,
                )
            size = amount
        elif percentage is not None:
            share = to_decimal("percentage", percentage)
            if share is None or not 0 < share <= 100:
                raise invalid("percentage must be in (0, 100]")
            size = (size * share / 100).quantize(Decimal("0.000000001")).normalize()
        body = {"symbol": symbol, "qty": size, "side": "sell" if held.qty > 0 else "buy",
                "type": "market", "time_in_force": "day"}
        return self.submit(body)[1]

    def close_all_positions(self, cancel_orders: bool) -> list[dict[str, Any]]:
        if cancel_orders:
            self.cancel_all()
        results = []
        for symbol in sorted(self.portfolio.holdings):
            try:
                reply = self.close_position(symbol)
                results.append({"symbol": symbol, "status": 200, "order_id": reply["id"], "body": reply})
            except ApiError as error:
                results.append({"symbol": symbol, "status": error.status, "body": error.body})
        return results

    def account(self) -> dict[str, Any]:
        return self.portfolio.account_json(self.prices, self.config.default_price)

    # ---- plumbing -----------------------------------------------------------------------

    def _asset(self, symbol: str) -> str:
        return self.asset_ids.setdefault(symbol, str(uuid.uuid4()))

    def _now(self) -> datetime:
        """Strictly increasing: submission order is the time order, even within a microsecond,
        so that `after`/`until` and `direction` are unambiguous."""
        moment = max(now(), self._last_moment + timedelta(microseconds=1))
        self._last_moment = moment
        return moment

    def _set_status(self, order: EmulatedOrder, status: str) -> None:
        order.status = status
        order.updated_at = self._now()

    def _finish(self, order: EmulatedOrder, status: str, notify: bool = True) -> None:
        self._set_status(order, status)
        setattr(order, {"canceled": "canceled_at", "expired": "expired_at", "rejected": "failed_at"}[status],
                order.updated_at)
        if notify:
            self._emit(status, order)

    def _emit(self, event: str, order: EmulatedOrder, fill: dict[str, Any] | None = None) -> None:
        data = {"event": event, "timestamp": timestamp(order.updated_at or self._now()), **(fill or {}),
                "order": order.to_json()}
        for sink in list(self.sinks):
            sink(data)
