"""Repair: adopting the broker's truth once a run has found differences.

Repair never places an order: it replays the broker's fills through the OMS (with the broker's
execution ids, so replays are ignored), settles statuses, adopts orders unknown here under the
strategy `external`, and only then adjusts positions that still differ, recording each
adjustment as an event that names the run. Nothing is deleted; every repair is an event.
Repairing twice changes nothing the second time.

The run (markers, cut, compare, save) is runner.py's; this module only changes books.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal

from execution_server.brokers.base import BrokerOrder, BrokerPosition
from execution_server.domain.money import format_decimal
from execution_server.domain.orders import OrderStatus
from execution_server.domain.positions import adjusted_to
from execution_server.oms.broker_events import EXTERNAL_STRATEGY, BrokerEventApplier
from execution_server.oms.event_consumer import ANY_SYMBOL, Moved
from execution_server.oms.fills import ACCOUNT, stored_position
from execution_server.oms.ports import PortfolioListener
from execution_server.oms.state import OpenOrders
from execution_server.positions.tracker import PositionBook
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)


class Repair:
    """Changes our books towards what the broker reported: orders first, then positions."""

    def __init__(
        self,
        *,
        writer: GroupCommitWriter,
        open_orders: OpenOrders,
        book: PositionBook,
        applier: BrokerEventApplier,
        portfolio: PortfolioListener,
    ) -> None:
        self._writer = writer
        self._open = open_orders
        self._book = book
        self._applier = applier
        self._portfolio = portfolio

    async def adopt_orders(
        self,
        open_orders: Sequence[BrokerOrder],
        lookup: Mapping[str, BrokerOrder | None],
        source: str,
        moved: Moved | None = None,
        on_their_way: frozenset[str] = frozenset(),
    ) -> None:
        """The broker's open orders and the looked-up ones, adopted with their fills; an order
        the broker does not know is closed, unless it was PENDING when the broker was read (its
        id in `on_their_way`): sent since, its absence proves nothing. Orders that moved during
        the cut are left alone."""
        skip = moved.client_order_ids if moved is not None else frozenset()
        for broker_order in open_orders:
            if broker_order.client_order_id not in skip:
                await self._applier.adopt_broker_state(broker_order, source=source, adopt_unknown=True)
        for client_order_id, broker_order in lookup.items():
            if client_order_id in skip:
                continue
            if broker_order is not None:
                await self._applier.adopt_broker_state(broker_order, source=source, adopt_unknown=False)
            else:
                await self._close_missing(client_order_id, source, on_their_way)

    async def _close_missing(self, client_order_id: str, source: str, on_their_way: frozenset[str]) -> None:
        order = self._open.by_client_id(client_order_id)
        if order is None:
            return
        if order.status is OrderStatus.PENDING or order.order_id in on_their_way:
            # In flight (only those are looked up): its submission may not have reached the broker
            # yet. The OMS's answer, or settlement by client order id, decides; rejecting it here
            # would leave an order working at the broker that we call REJECTED.
            log.info("order %s is on its way to the broker; left to the OMS to settle (%s)", order.order_id, source)
            return
        await self._applier.cancel_missing(order, f"MISSING_AT_BROKER: unknown at the broker ({source})")

    async def adjust_positions(
        self, run_id: int, broker_positions: Sequence[BrokerPosition], moved: Moved | None = None
    ) -> None:
        """Every account position that still differs from the broker's, moved to it through the
        strategy `external`; symbols that moved during the cut are left for the next run."""
        theirs = {position.symbol: position for position in broker_positions if position.quantity != 0}
        ours = self._book.account_quantities()
        for symbol in sorted(set(theirs) | {s for s, q in ours.items() if q != 0}):
            if moved is not None and (symbol in moved.symbols or ANY_SYMBOL in moved.symbols):
                continue
            broker_position = theirs.get(symbol)
            target = broker_position.quantity if broker_position else Decimal(0)
            if ours.get(symbol, Decimal(0)) == target:
                continue
            average = broker_position.average_entry_price if broker_position else None
            await self._writer.run(lambda tx, s=symbol, q=target, a=average: self._adjust(tx, run_id, s, q, a))

    async def _adjust(
        self, tx: Transaction, run_id: int, symbol: str, target: Decimal, average: Decimal | None
    ) -> None:
        """Move the `external` strategy by the difference, so that the account (the strategies'
        sum) equals the broker's quantity, and give the account the broker's average."""
        account_before = self._book.account(symbol)
        external_before = self._book.get(EXTERNAL_STRATEGY, symbol)
        delta = target - account_before.quantity
        if delta == 0:
            return
        external_quantity = external_before.quantity + delta
        external_average = (external_before.average_entry_price or average or account_before.average_entry_price) if external_quantity else None
        external_after = adjusted_to(external_before, external_quantity, external_average)
        account_after = adjusted_to(account_before, target, average or account_before.average_entry_price)
        # The undo first: whatever fails from here on, here or at the commit, the writer rolls
        # back and memory (the book and the risk portfolio) is put back exactly as it was.
        tx.on_rollback(self._book.restore_point(EXTERNAL_STRATEGY, symbol))
        tx.on_rollback(self._portfolio.restore_point(EXTERNAL_STRATEGY, symbol))
        self._book.adjust(EXTERNAL_STRATEGY, symbol, external_after, account_after)
        tx.save_position(stored_position(EXTERNAL_STRATEGY, external_after))
        tx.save_position(stored_position(ACCOUNT, account_after))
        detail = (
            f"reconcile run {run_id}: account {symbol} adjusted from {format_decimal(account_before.quantity)} "
            f"to the broker's {format_decimal(target)} through strategy {EXTERNAL_STRATEGY}"
        )
        tx.record("position_adjusted", strategy_id=EXTERNAL_STRATEGY, symbol=symbol, detail=detail)
        self._portfolio.position_adjusted(EXTERNAL_STRATEGY, symbol, external_quantity, external_after.average_entry_price)
        log.warning(detail)
