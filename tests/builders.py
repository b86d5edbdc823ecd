"""Builders for test data: `an_order(status=FILLED)` instead of long literal setups."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce

T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def a_spec(**changes: Any) -> OrderSpec:
    fields: dict[str, Any] = {
        "client_order_id": "c-1",
        "strategy_id": "momentum_v1",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": Decimal("100"),
        "order_type": OrderType.MARKET,
        "time_in_force": TimeInForce.DAY,
    }
    fields.update(changes)
    return OrderSpec(**fields)


def an_order(status: OrderStatus = OrderStatus.PENDING, **changes: Any) -> Order:
    spec_fields = {key: changes.pop(key) for key in list(changes) if key in OrderSpec.__dataclass_fields__}
    fields: dict[str, Any] = {"order_id": "o-1", "created_at": T0, "updated_at": T0, **changes}
    return Order(spec=a_spec(**spec_fields), status=status, **fields)
