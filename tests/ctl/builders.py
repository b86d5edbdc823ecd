"""The client's own models, built for the ctl's pure tests: `an_order(status="FILLED")`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from execution_client import Fill, Order, OrderUpdate, Position

T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)

_ORDER = Order(
    order_id="0b6f3c1e-0000-4000-8000-000000000001",
    client_order_id="c-1",
    broker_order_id="sim-1",
    strategy_id="momentum_v1",
    symbol="AAPL",
    side="BUY",
    order_type="LIMIT",
    time_in_force="DAY",
    quantity=Decimal("10"),
    limit_price=Decimal("180.25"),
    stop_price=None,
    status="SUBMITTED",
    filled_quantity=Decimal("0"),
    average_fill_price=None,
    reject_reason="",
    created_at=T0,
    updated_at=T0,
    broker_status="new",
    in_flight=False,
    cancel_reason="",
)


def an_order(**changes: Any) -> Order:
    return replace(_ORDER, **changes)


def a_fill(**changes: Any) -> Fill:
    fields: dict[str, Any] = {"execution_id": "x-1", "quantity": Decimal("10"), "price": Decimal("180.25"), "time": T0}
    return Fill(**{**fields, **changes})


def an_update(sequence: int, order: Order | None, fill: Fill | None = None, event_type: str = "submitted") -> OrderUpdate:
    return OrderUpdate(sequence=sequence, order=order, fill=fill, time=T0, event_type=event_type, detail="")


def a_position(**changes: Any) -> Position:
    fields: dict[str, Any] = {
        "symbol": "AAPL", "quantity": Decimal("10"), "average_entry_price": Decimal("180.25"),
        "realized_pnl": Decimal("0"), "strategy_id": "",
    }
    return Position(**{**fields, **changes})
