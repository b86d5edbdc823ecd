"""The simulated broker's working copy of one order.

Mutable on purpose: the matching loop updates an order in place several times per price
update, and copying a frozen value each time would cost most of the per-order budget. Only
the ledger mutates it; everything leaving the engine is a frozen snapshot (BrokerOrder,
OrderRestored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from execution_server.brokers.base import BrokerFill, BrokerOrder
from execution_server.brokers.simulated.facts import (
    CANCELED,
    EXPIRED,
    FILLED,
    NEW,
    PARTIALLY_FILLED,
    OrderRestored,
    order_id_for,
)
from execution_server.domain.money import ZERO
from execution_server.domain.orders import STOP_PRICED, OrderStatus, OrderType, Side, TimeInForce

# Broker word → our status, one table. Accepted is SUBMITTED: the broker never has PENDING.
STATUS_BY_BROKER_STATUS: dict[str, OrderStatus] = {
    NEW: OrderStatus.SUBMITTED,
    PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    FILLED: OrderStatus.FILLED,
    CANCELED: OrderStatus.CANCELLED,
    EXPIRED: OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
OPEN_BROKER_STATUSES = frozenset({NEW, PARTIALLY_FILLED})


@dataclass(slots=True, eq=False)
class SimOrder:
    """An order at the simulated broker, open or closed, with every execution it had."""

    seq: int
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    accepted_at: datetime
    filled_quantity: Decimal = ZERO
    average_fill_price: Decimal | None = None
    broker_status: str = NEW
    reason: str = ""
    active: bool = False  # working: past its (simulated) ack delay
    triggered: bool = False  # a stop whose stop price was crossed
    fills: list[BrokerFill] = field(default_factory=list)
    lifetime: str = ""  # of the broker that accepted it: with seq, it makes the order id
    order_id: str = ""
    # Where the order rests in its symbol's book: (lane, key), or None.
    resting: tuple[object, object] | None = None

    def __post_init__(self) -> None:
        self.order_id = order_id_for(self.seq, self.lifetime)

    @property
    def is_open(self) -> bool:
        return self.broker_status in OPEN_BROKER_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def works_as_market(self) -> bool:
        return self.order_type is OrderType.MARKET or (self.order_type is OrderType.STOP and self.triggered)

    @property
    def waits_for_stop(self) -> bool:
        return self.order_type in STOP_PRICED and not self.triggered

    def snapshot(self) -> OrderRestored:
        return OrderRestored(
            seq=self.seq,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            quantity=self.quantity,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            accepted_at=self.accepted_at,
            filled_quantity=self.filled_quantity,
            average_fill_price=self.average_fill_price,
            broker_status=self.broker_status,
            reason=self.reason,
            active=self.active,
            triggered=self.triggered,
            fills=tuple(self.fills),
            lifetime=self.lifetime,
        )

    @classmethod
    def from_snapshot(cls, state: OrderRestored) -> SimOrder:
        return cls(
            seq=state.seq,
            client_order_id=state.client_order_id,
            symbol=state.symbol,
            side=state.side,
            order_type=state.order_type,
            time_in_force=state.time_in_force,
            quantity=state.quantity,
            limit_price=state.limit_price,
            stop_price=state.stop_price,
            accepted_at=state.accepted_at,
            filled_quantity=state.filled_quantity,
            average_fill_price=state.average_fill_price,
            broker_status=state.broker_status,
            reason=state.reason,
            active=state.active,
            triggered=state.triggered,
            fills=list(state.fills),
            lifetime=state.lifetime,
        )

    def to_broker_order(self) -> BrokerOrder:
        return BrokerOrder(
            broker_order_id=self.order_id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            quantity=self.quantity,
            filled_quantity=self.filled_quantity,
            average_fill_price=self.average_fill_price,
            status=STATUS_BY_BROKER_STATUS[self.broker_status],
            broker_status=self.broker_status,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            fills=tuple(self.fills),
            reason=self.reason,
        )
