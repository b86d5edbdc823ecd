"""What the adapter knows of each order's fills, and the guard every fill passes before it is
reported: Alpaca's stream can repeat or reorder an execution, and a fill recovered over REST
after a reconnect may be one the stream also carries; none of these may count twice.

A fill is reported only when its execution id is new, the order's cumulative filled_qty in the
same event is above what was already reported (so an execution already covered by a recovered
cumulative figure is not counted again), and it does not take the order past its quantity (an
overfill is refused and logged). Its quantity is always the execution's own, never the
cumulative figure: a reordered pair (the later execution first) still adds up exactly.

Pure (no I/O); the stream feed keeps one OrderBook per client and consults it in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from execution_server.brokers.base import BrokerOrder, OrderFilled
from execution_server.brokers.alpaca.mapping import Progress
from execution_server.domain.money import ZERO, average
from execution_server.domain.orders import OrderStatus

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Tracked:
    """One order as far as this adapter has reported it."""

    client_order_id: str
    broker_order_id: str | None = None
    quantity: Decimal | None = None
    reported: Decimal = ZERO  # quantity reported in fills
    notional: Decimal = ZERO  # their quantity × price, summed
    executions: set[str] = field(default_factory=set)
    accepted: bool = False
    closed: bool = False

    @property
    def open(self) -> bool:
        return not self.closed and (self.quantity is None or self.reported < self.quantity)


class OrderBook:
    """Tracked orders by client order id (the id every event and lookup carries)."""

    def __init__(self) -> None:
        self.orders: dict[str, Tracked] = {}

    def track(self, client_order_id: str, broker_order_id: str | None = None,
              quantity: Decimal | None = None) -> Tracked:
        tracked = self.orders.get(client_order_id)
        if tracked is None:
            tracked = self.orders[client_order_id] = Tracked(client_order_id)
        if broker_order_id:
            tracked.broker_order_id = broker_order_id
        if quantity is not None:
            tracked.quantity = quantity
        return tracked

    def open_ids(self) -> list[str]:
        return [cid for cid, tracked in self.orders.items() if tracked.open]

    def seed(self, order: BrokerOrder) -> None:
        """Alpaca's cumulative figures as already reported: for orders open when the adapter
        starts, whose earlier fills the service's own recovery settles from the same figures."""
        tracked = self.track(order.client_order_id, order.broker_order_id, order.quantity)
        if order.filled_quantity > tracked.reported:
            tracked.reported = order.filled_quantity
            tracked.notional = (order.average_fill_price or ZERO) * order.filled_quantity
        tracked.accepted = True

    def admit_fill(self, fill: OrderFilled, progress: Progress) -> bool:
        """Whether a stream fill is reported; records it when it is."""
        tracked = self.track(fill.client_order_id, fill.broker_order_id, progress.quantity)
        if fill.execution_id in tracked.executions:
            log.info("fill %s of order %s reported again: counted once", fill.execution_id, fill.client_order_id)
            return False
        if progress.filled_quantity <= tracked.reported:
            log.info(
                "fill %s of order %s: cumulative %s already reported (%s): counted once",
                fill.execution_id, fill.client_order_id, progress.filled_quantity, tracked.reported,
            )
            return False
        if tracked.reported + fill.quantity > progress.quantity:
            log.error(
                "fill %s of order %s refused: %s more on %s reported would overfill its quantity %s",
                fill.execution_id, fill.client_order_id, fill.quantity, tracked.reported, progress.quantity,
            )
            return False
        tracked.executions.add(fill.execution_id)
        tracked.reported += fill.quantity
        tracked.notional += fill.quantity * fill.price
        tracked.accepted = True
        return True

    def catch_up_fill(self, order: BrokerOrder) -> OrderFilled | None:
        """The fill that explains what Alpaca's cumulative figure adds to what was reported, with
        the id the OMS's own repair gives the same figure (oms.broker_events), so that the two
        count it once; None when nothing is missing."""
        tracked = self.track(order.client_order_id, order.broker_order_id, order.quantity)
        missing = order.filled_quantity - tracked.reported
        if missing <= 0 or order.average_fill_price is None:
            return None
        price = average(order.average_fill_price * order.filled_quantity - tracked.notional, missing)
        if price <= 0:
            price = order.average_fill_price
        tracked.reported = order.filled_quantity
        tracked.notional = order.average_fill_price * order.filled_quantity
        execution_id = f"{order.broker_order_id}:cumulative:{order.filled_quantity}"
        tracked.executions.add(execution_id)
        status = "filled" if order.status is OrderStatus.FILLED else "partially_filled"
        return OrderFilled(order.broker_order_id, order.client_order_id, execution_id, missing, price,
                           datetime.now(UTC), status)
