"""One emulated order, its lifecycle sets and its JSON shape (ALPACA_API.md §3.1)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from execution_server.brokers.alpaca.emulator.wire import decimal_text, timestamp

# §8: the emulator's open/closed split for GET /v2/orders?status=.
CLOSED = frozenset({"filled", "canceled", "expired", "rejected", "replaced", "done_for_day", "calculated"})
# Doc: an order can be canceled until it is filled, canceled or expired (and rejected/replaced are final).
NOT_CANCELABLE = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})

ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
TIMES_IN_FORCE = ("day", "gtc", "opg", "cls", "ioc", "fok")
SIDES = ("buy", "sell")


@dataclass(slots=True)
class EmulatedOrder:
    """Mutable state of one order at the emulated broker; only the Exchange changes it."""

    symbol: str
    asset_id: str
    side: str
    type: str
    time_in_force: str
    client_order_id: str
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    extended_hours: bool
    status: str
    submitted_at: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    position_intent: str | None = None
    filled_qty: Decimal = Decimal(0)
    filled_value: Decimal = Decimal(0)  # Σ qty × price of the executions: the average's numerator
    triggered: bool = False  # a stop whose price was crossed now works as market / limit
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    def remaining(self, price: Decimal) -> Decimal:
        """Quantity still to fill; a notional order is sized at the price it first fills at."""
        if self.qty is None:
            assert self.notional is not None
            self.qty = (self.notional / price).quantize(Decimal("0.000000001"))
        return self.qty - self.filled_qty

    def average_price(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return (self.filled_value / self.filled_qty).quantize(Decimal("0.0001")).normalize()

    def to_json(self) -> dict[str, Any]:
        """Every field alpaca-py's `Order` reads, both `type` and `order_type` (§3.1)."""
        shown_qty = None if self.notional is not None and self.filled_qty == 0 else self.qty
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": timestamp(self.submitted_at),
            "updated_at": timestamp(self.updated_at or self.submitted_at),
            "submitted_at": timestamp(self.submitted_at),
            "filled_at": timestamp(self.filled_at),
            "expired_at": timestamp(self.expired_at),
            "expires_at": None,
            "canceled_at": timestamp(self.canceled_at),
            "failed_at": timestamp(self.failed_at),
            "replaced_at": timestamp(self.replaced_at),
            "replaced_by": self.replaced_by,
            "replaces": self.replaces,
            "asset_id": self.asset_id,
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": decimal_text(self.notional),
            "qty": decimal_text(shown_qty),
            "filled_qty": decimal_text(self.filled_qty),
            "filled_avg_price": decimal_text(self.average_price()),
            "order_class": "",
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "position_intent": self.position_intent,
            "time_in_force": self.time_in_force,
            "limit_price": decimal_text(self.limit_price),
            "stop_price": decimal_text(self.stop_price),
            "status": self.status,
            "extended_hours": self.extended_hours,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": None,
        }
