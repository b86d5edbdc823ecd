"""The watch view's state and how each event changes it: a pure reducer, no I/O, no asyncio.

Every order update carries the whole order, so the view keeps the latest copy of each open
order and drops it when it reaches a final state; fills are kept newest first, a few of them;
positions are replaced whole by each refresh (the server computes them, the view never does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

FINAL_STATUSES = frozenset({"FILLED", "CANCELLED", "REJECTED"})
RECENT_FILLS = 12


@dataclass(frozen=True, slots=True)
class FillRow:
    time: datetime | None
    order_id: str
    strategy_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    execution_id: str


@dataclass(frozen=True, slots=True)
class WatchState:
    open_orders: tuple[Any, ...] = ()     # the client's Order, oldest first
    fills: tuple[FillRow, ...] = ()       # newest first, at most RECENT_FILLS
    positions: tuple[Any, ...] = ()       # the client's Position, as the last refresh returned them
    last_sequence: int = 0
    updates_seen: int = 0


def seeded(orders: Iterable[Any], positions: Iterable[Any]) -> WatchState:
    """The view before the stream: what a listing of open orders and the positions said."""
    open_orders = tuple(order for order in orders if order.status not in FINAL_STATUSES)
    return WatchState(open_orders=open_orders, positions=tuple(positions))


def with_positions(state: WatchState, positions: Iterable[Any]) -> WatchState:
    return replace(state, positions=tuple(positions))


def _with_order(open_orders: tuple[Any, ...], order: Any) -> tuple[Any, ...]:
    kept = tuple(o for o in open_orders if o.order_id != order.order_id)
    if order.status in FINAL_STATUSES:
        return kept
    for index, existing in enumerate(open_orders):
        if existing.order_id == order.order_id:  # keep its place in the list
            return open_orders[:index] + (order,) + open_orders[index + 1 :]
    return open_orders + (order,)


def applied(state: WatchState, update: Any) -> WatchState:
    """The state after one OrderUpdate. An update at or below the last sequence is a replay the
    view has already shown (the stream never sends one; a resubscription might), and changes
    nothing."""
    if update.sequence <= state.last_sequence:
        return state
    open_orders = state.open_orders if update.order is None else _with_order(state.open_orders, update.order)
    fills = state.fills
    fill = update.fill
    if fill is not None:  # the server applies each execution once, so each arrives once
        order = update.order
        row = FillRow(
            time=fill.time,
            order_id=getattr(order, "order_id", ""),
            strategy_id=getattr(order, "strategy_id", ""),
            symbol=getattr(order, "symbol", ""),
            side=getattr(order, "side", ""),
            quantity=fill.quantity,
            price=fill.price,
            execution_id=fill.execution_id,
        )
        fills = (row, *fills)[:RECENT_FILLS]
    return replace(
        state,
        open_orders=open_orders,
        fills=fills,
        last_sequence=update.sequence,
        updates_seen=state.updates_seen + 1,
    )
