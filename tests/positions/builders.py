"""Test data builders: an order or a broker order, defaults everywhere but what the test is about."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from execution_server.brokers.base import BrokerOrder, BrokerPosition
from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce

T0 = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)


def an_order(
    client_order_id: str = "c-1",
    *,
    order_id: str | None = None,
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    quantity: str = "10",
    status: OrderStatus = OrderStatus.SUBMITTED,
    filled: str = "0",
    in_flight: bool = False,
) -> Order:
    spec = OrderSpec(
        client_order_id=client_order_id,
        strategy_id="momentum_v1",
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        order_type=OrderType.MARKET,
    )
    return Order(
        order_id=order_id or f"o-{client_order_id}",
        spec=spec,
        status=status,
        created_at=T0,
        updated_at=T0,
        filled_quantity=Decimal(filled),
        in_flight=in_flight,
        broker_order_id=None if status is OrderStatus.PENDING else f"b-{client_order_id}",
    )


def a_broker_order(
    client_order_id: str = "c-1",
    *,
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    quantity: str = "10",
    status: OrderStatus = OrderStatus.SUBMITTED,
    filled: str = "0",
    broker_status: str = "",
) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=f"b-{client_order_id}",
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        quantity=Decimal(quantity),
        filled_quantity=Decimal(filled),
        average_fill_price=None,
        status=status,
        broker_status=broker_status or status.value.lower(),
    )


def a_broker_position(symbol: str, quantity: str, average: str = "100") -> BrokerPosition:
    return BrokerPosition(symbol=symbol, quantity=Decimal(quantity), average_entry_price=Decimal(average))
