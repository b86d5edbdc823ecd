"""Applying one execution inside a transaction: the order, the fill row, the positions and
the risk portfolio change together, or not at all."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from execution_server.domain.events import Fill
from execution_server.domain.orders import Order
from execution_server.domain.positions import Position, PositionChange
from execution_server.oms.lifecycle import OrderLifecycle
from execution_server.oms.ports import PortfolioListener, PositionLedger
from execution_server.oms.state import OpenOrders
from execution_server.store.repository import StoredPosition
from execution_server.store.transaction import Transaction

log = logging.getLogger(__name__)
ACCOUNT = ""


class FillRecorder:
    def __init__(
        self, open_orders: OpenOrders, ledger: PositionLedger, portfolio: PortfolioListener, lifecycle: OrderLifecycle
    ) -> None:
        self._open = open_orders
        self._lifecycle = lifecycle
        self._ledger = ledger
        self._portfolio = portfolio

    async def record(
        self,
        tx: Transaction,
        order: Order,
        *,
        execution_id: str,
        quantity: Decimal,
        price: Decimal,
        time: datetime,
        broker_status: str = "",
        broker_order_id: str = "",
        detail: str = "",
    ) -> Order:
        """Apply a fill once. A known execution id returns the order unchanged; a fill that would
        overfill raises InvalidFill before anything is written."""
        applied = self._open.has_execution(order.order_id, execution_id)
        if applied or (applied is None and await tx.fill_exists(execution_id)):
            return order
        after = order.filled(quantity, price, tx.now, broker_status)  # `time`, the broker's, is the fill's
        if broker_order_id and not after.broker_order_id:
            # A fill ahead of the ack: the order learns its broker id here, unless another holds it.
            after = after.with_changes(broker_order_id=await self._open.claimable_broker_id(tx, order, broker_order_id))
        fill = Fill(execution_id, order.order_id, quantity, price, time)
        positions = self._positions_after(order, quantity, price)  # may refuse: before any write
        # The strategy's position change, computed once above, is what the portfolio reads too.
        change = PositionChange(self._ledger.get(order.strategy_id, order.symbol), positions[0])
        self._portfolio.order_filled(order, quantity, price, change)  # before the order may close in it
        sequence = self._lifecycle.fill(tx, order, after, fill, detail=detail).sequence
        tx.insert_fill(fill, sequence)
        self._open.add_execution(tx, order.order_id, execution_id)
        self._move_positions(tx, after, *positions)
        return after

    def _positions_after(self, order: Order, quantity: Decimal, price: Decimal) -> tuple[Position, Position]:
        return self._ledger.fill_outcome(order.strategy_id, order.symbol, order.side, quantity, price)

    def _move_positions(self, tx: Transaction, order: Order, after_strategy: Position, after_account: Position) -> None:
        tx.on_rollback(self._ledger.restore_point(order.strategy_id, order.symbol))
        self._ledger.adjust(order.strategy_id, order.symbol, after_strategy, after_account)
        tx.save_position(stored_position(order.strategy_id, after_strategy))
        tx.save_position(stored_position(ACCOUNT, after_account))


def stored_position(strategy_id: str, position: Position) -> StoredPosition:
    return StoredPosition(
        strategy_id, position.symbol, position.quantity, position.average_entry_price, position.realized_pnl
    )
