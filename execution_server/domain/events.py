"""What the event log records: one entry per change, with its sequence number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from execution_server.domain.orders import Order


@dataclass(frozen=True, slots=True)
class Fill:
    execution_id: str
    order_id: str
    quantity: Decimal
    price: Decimal
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One entry of the event log. `order` is the order as it is after the change; it is None
    only for changes that concern no order (a position adjusted by reconciliation)."""

    sequence: int
    event_type: str
    strategy_id: str
    symbol: str
    time: datetime
    order: Order | None = None
    fill: Fill | None = None
    detail: str = ""
