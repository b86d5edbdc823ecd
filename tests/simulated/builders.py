"""Test data for the simulated broker: short builders instead of long literals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from execution_server.brokers.base import BrokerOrder
from execution_server.brokers.simulated import MatchingEngine
from execution_server.brokers.simulated.facts import Fact, Filled
from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
_ids = itertools.count(1)


def D(text: str | int) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(str(text))


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def a_spec(
    *,
    side: Side = Side.BUY,
    quantity: str | Decimal = "10",
    order_type: OrderType = OrderType.MARKET,
    time_in_force: TimeInForce = TimeInForce.DAY,
    limit: str | None = None,
    stop: str | None = None,
    symbol: str = "AAPL",
    client_order_id: str | None = None,
) -> OrderSpec:
    return OrderSpec(
        client_order_id=client_order_id or f"client-{next(_ids)}",
        strategy_id="strategy-1",
        symbol=symbol,
        side=side,
        quantity=quantity if isinstance(quantity, Decimal) else D(quantity),
        order_type=order_type,
        time_in_force=time_in_force,
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
    )


def an_order(**spec_fields: object) -> Order:
    """An order as the OMS hands it to a broker: PENDING, not yet sent."""
    spec = a_spec(**spec_fields)  # type: ignore[arg-type]
    return Order(order_id=f"order-{spec.client_order_id}", spec=spec, status=OrderStatus.PENDING, created_at=T0, updated_at=T0)


def an_engine(price: str = "100") -> MatchingEngine:
    """An engine where every symbol starts at `price`, with a million in cash."""
    return MatchingEngine(starting_cash=D(1000000), reference_prices={}, default_price=D(price))


def submitted(engine: MatchingEngine, seconds: int = 0, **spec_fields: object) -> str:
    """Submit through the engine; the new order's broker id."""
    facts = engine.submit(a_spec(**spec_fields), at(seconds))  # type: ignore[arg-type]
    return facts[0].order_id  # type: ignore[union-attr]


def order_of(engine: MatchingEngine, order_id: str) -> BrokerOrder:
    return engine.ledger.orders[order_id].to_broker_order()


def fills_in(facts: list[Fact]) -> list[Filled]:
    return [fact for fact in facts if isinstance(fact, Filled)]
