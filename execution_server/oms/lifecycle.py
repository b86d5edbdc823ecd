"""Every change of an order goes through here, inside the writer's transaction: the domain's
transition (the table in domain/orders.py decides), the order's row, its event in the log, the
open-order index and the risk portfolio, together; the new order comes back. No other code
writes an order's state.

Callers decide what a broker's report means (oms/broker_events.py) or what a client asked for
(oms/service.py); a report the table does not allow (a duplicate, or one overtaken by another)
is their explicit decision, asked through `allows`, never a silent no-op here.
"""

from __future__ import annotations

import logging

from execution_server.domain.events import Fill, OrderUpdate
from execution_server.domain.orders import ACKNOWLEDGE, Order, OrderEvent, OrderStatus, allows
from execution_server.oms.ports import PortfolioListener
from execution_server.oms.state import OpenOrders
from execution_server.store.transaction import Transaction

log = logging.getLogger(__name__)


class OrderLifecycle:
    def __init__(self, open_orders: OpenOrders, portfolio: PortfolioListener) -> None:
        self._open = open_orders
        self._portfolio = portfolio

    @staticmethod
    def allows(order: Order, event: OrderEvent) -> bool:
        return allows(order.status, event)

    # --- a new order ---

    def place(self, tx: Transaction, order: Order, *, event_type: str = "placed", detail: str = "") -> Order:
        """A new order, PENDING: its row, its first event, the index."""
        assert order.status is OrderStatus.PENDING, order
        placed = tx.record(event_type, order=order, detail=detail)
        tx.insert_order(order, placed.sequence)
        self._open.track(tx, None, order)
        return order

    # --- changes ---

    async def accept(self, tx: Transaction, order: Order, broker_order_id: str, broker_status: str) -> Order:
        """The broker has the order (its ack, its stream, or a lookup said so): PENDING →
        SUBMITTED; an order a fill already advanced, or one still without its broker id, is
        acknowledged. Anything else is a duplicate acceptance: nothing to record."""
        needs_answer = order.in_flight or not order.broker_order_id
        if order.status is OrderStatus.PENDING:
            claimed = await self._open.claimable_broker_id(tx, order, broker_order_id)
            return self._record(tx, order, order.submitted(claimed, broker_status, tx.now), "submitted",
                                detail=_held(claimed, broker_order_id))
        if needs_answer and allows(order.status, ACKNOWLEDGE):
            claimed = order.broker_order_id or await self._open.claimable_broker_id(tx, order, broker_order_id)
            if claimed == order.broker_order_id and not order.in_flight:
                return order  # its id is held by another order: already said, nothing new
            return self._record(tx, order, order.acknowledged(claimed, tx.now), "submitted",
                                detail=_held(claimed, broker_order_id))
        return order

    def reject(self, tx: Transaction, order: Order, reason: str, broker_status: str = "") -> Order:
        return self._record(tx, order, order.rejected(reason, tx.now, broker_status), "rejected", detail=reason)

    def cancel(self, tx: Transaction, order: Order, reason: str, broker_status: str = "") -> Order:
        return self._record(tx, order, order.cancelled(reason, tx.now, broker_status), "cancelled", detail=reason)

    def request_cancel(self, tx: Transaction, order: Order) -> Order:
        return self._record(tx, order, order.cancel_requested_at(tx.now), "cancel_requested")

    def fill(self, tx: Transaction, order: Order, after: Order, fill: Fill, *, detail: str = "") -> OrderUpdate:
        """`after` is `order.filled(...)` (oms/fills.py computed it, with the positions it moves,
        before anything was written); returns the fill's event."""
        return self._write(tx, order, after, "fill", detail=detail, fill=fill)

    def _record(self, tx: Transaction, before: Order, after: Order, event_type: str, *, detail: str = "") -> Order:
        self._write(tx, before, after, event_type, detail=detail)
        return after

    def _write(
        self, tx: Transaction, before: Order, after: Order, event_type: str, *, detail: str = "", fill: Fill | None = None
    ) -> OrderUpdate:
        tx.update_order(after)
        update = tx.record(event_type, order=after, fill=fill, detail=detail)
        self._open.track(tx, before, after)
        if before.status.is_open and after.status.is_terminal:
            self._portfolio.order_closed(after)
        return update


def _held(claimed: str | None, reported: str) -> str:
    return "" if claimed or not reported else f"broker order id {reported!r} held by another order"

