"""One INFO line and one count per order event, once it is committed: what was written is what
is told (a batch rolled back logs nothing). The writer hands every committed batch here.

Each line carries the order's identity as fields (order_id, client_order_id, strategy_id,
symbol, status; a fill's quantity and price as decimal strings), top-level keys of a JSON line
(observability/logs.py) or `key=value` words of a text one."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from execution_server.domain.events import OrderUpdate
from execution_server.domain.money import format_decimal
from execution_server.domain.orders import OrderStatus
from execution_server.observability.metrics import ServiceMetrics, reject_category

log = logging.getLogger("execution_server.orders")

# The log's event types, as operators name them. Repairs (an order adopted from the broker, a
# position moved to the broker's) are "repaired"; the rest keep their name.
EVENTS = {
    "placed": "placed", "submitted": "submitted", "cancelled": "cancelled", "rejected": "rejected",
    "cancel_requested": "cancel_requested", "adopted": "repaired", "position_adjusted": "repaired",
}
OTHER_EVENT = "other"


def event_name(update: OrderUpdate) -> str:
    if update.event_type == "fill":
        order = update.order
        return "filled" if order is not None and order.status is OrderStatus.FILLED else "partially_filled"
    return EVENTS.get(update.event_type, OTHER_EVENT)


class OrderEvents:
    """Counts and logs committed order events; either part may be off."""

    def __init__(self, metrics: ServiceMetrics | None, *, log_events: bool = True) -> None:
        self._metrics = metrics
        self._log_events = log_events

    def committed(self, updates: Sequence[OrderUpdate]) -> None:
        metrics = self._metrics
        logging_on = self._log_events and log.isEnabledFor(logging.INFO)
        for update in updates:
            event = event_name(update)
            if metrics is not None:
                self._count(metrics, event, update)
            if logging_on:
                _log(event, update)

    @staticmethod
    def _count(metrics: ServiceMetrics, event: str, update: OrderUpdate) -> None:
        metrics.child(metrics.order_events, event).inc()
        if update.fill is not None:
            metrics.fills.inc()
        elif event == "rejected":
            metrics.child(metrics.order_rejections, reject_category(update.detail)).inc()


def _log(event: str, update: OrderUpdate) -> None:
    order = update.order
    fields: dict[str, object] = {"event": event, "sequence": update.sequence, "strategy_id": update.strategy_id,
                                 "symbol": update.symbol}
    if order is not None:
        fields["order_id"] = order.order_id
        fields["client_order_id"] = order.client_order_id
        fields["status"] = order.status.value
    fill = update.fill
    if fill is not None:
        fields["fill_quantity"] = format_decimal(fill.quantity)
        fields["fill_price"] = format_decimal(fill.price)
        fields["execution_id"] = fill.execution_id
    if update.detail and event in ("rejected", "cancelled", "repaired"):
        fields["reason"] = update.detail[:200]
    log.info("order %s", event, extra={"order": fields})
