"""Builders for the risk tests: an order in one line, a manager around a fake price board."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side
from execution_server.risk.kill_switch import KillSwitchState
from execution_server.risk.limits import parse_risk_limits
from execution_server.risk.manager import RiskManager
from execution_server.risk.portfolio import PortfolioView

NOW = datetime(2025, 1, 2, 15, 30, tzinfo=UTC)
_ids = itertools.count(1)

BUY, SELL = Side.BUY, Side.SELL


def D(value: object) -> Decimal:
    return Decimal(str(value))


def a_spec(
    side: Side = BUY,
    quantity: object = 1,
    symbol: str = "AAPL",
    strategy: str = "alpha",
    limit: object | None = None,
    stop: object | None = None,
    order_type: OrderType | None = None,
) -> OrderSpec:
    if order_type is None:
        order_type = {
            (False, False): OrderType.MARKET,
            (True, False): OrderType.LIMIT,
            (False, True): OrderType.STOP,
            (True, True): OrderType.STOP_LIMIT,
        }[limit is not None, stop is not None]
    return OrderSpec(
        client_order_id=f"c{next(_ids)}",
        strategy_id=strategy,
        symbol=symbol,
        side=side,
        quantity=D(quantity),
        order_type=order_type,
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
    )


def an_order(spec: OrderSpec | None = None, status: OrderStatus = OrderStatus.SUBMITTED, **spec_fields: Any) -> Order:
    spec = spec or a_spec(**spec_fields)
    return Order(order_id=f"o-{spec.client_order_id}", spec=spec, status=status, created_at=NOW, updated_at=NOW)


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Desk:
    """A RiskManager with its portfolio, a price board and a clock, as the OMS would drive it."""

    def __init__(self, limits: Mapping[str, Any] | None = None, prices: Mapping[str, object] | None = None) -> None:
        prices = {"AAPL": 100} if prices is None else prices
        self.prices: dict[str, Decimal] = {symbol: D(price) for symbol, price in prices.items()}
        self.portfolio = PortfolioView()
        self.clock = FakeClock()
        self.engaged: list[KillSwitchState] = []
        self.risk = RiskManager(
            parse_risk_limits(limits or {}),
            self.portfolio,
            self.prices.get,
            self.clock,
            wall_clock=lambda: NOW,
            on_kill_switch=self.engaged.append,
        )

    def place(self, spec: OrderSpec | None = None, **spec_fields: Any) -> tuple[Order, str | None]:
        """Admit an order as the OMS does; the order and its rejection reason (None: accepted)."""
        order = an_order(spec or a_spec(**spec_fields))
        denial = self.risk.admit(order)
        return order, None if denial is None else denial.reason

    def accepts(self, spec: OrderSpec | None = None, **spec_fields: Any) -> bool:
        return self.place(spec, **spec_fields)[1] is None

    def rejects(self, spec: OrderSpec | None = None, **spec_fields: Any) -> str:
        """The rejection reason; empty when the order was accepted."""
        return self.place(spec, **spec_fields)[1] or ""

    def hold(self, quantity: object, symbol: str = "AAPL", strategy: str = "alpha", price: object = 100) -> None:
        """Give the strategy a position through a filled order, as it would be built in real life."""
        quantity = D(quantity)
        if not quantity:
            return
        order = an_order(side=BUY if quantity > 0 else SELL, quantity=abs(quantity), symbol=symbol, strategy=strategy)
        self.portfolio.order_opened(order)
        self.portfolio.order_filled(order, abs(quantity), D(price))

    def fill(self, order: Order, quantity: object, price: object) -> Order:
        filled = order.filled(D(quantity), D(price), NOW)
        self.portfolio.order_filled(order, D(quantity), D(price))
        return filled
