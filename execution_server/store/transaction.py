"""What an operation of the single writer gets: one transaction of a group commit.

Writes to orders, fills and positions are held here and written when the batch commits, one
statement per table for the whole batch (executemany), instead of one database round trip per
row: a market order's life (placed, submitted, filled, two positions) would otherwise cost
eight round trips through the driver, and the writer runs them one after another.

Reads through the transaction see its own pending writes (read-your-writes): an order changed
earlier in the batch is returned as changed, a fill recorded earlier in the batch exists. They
never need to flush first, so a batch still costs one statement per table however its reads
and writes interleave.

`conn` remains for the few statements on other tables (the kill switch, reconciliation runs,
retention), which are executed at once; nothing held here depends on them or they on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from execution_server.domain.events import Fill, OrderUpdate
from execution_server.domain.orders import Order
from execution_server.store import bulk, repository
from execution_server.store.repository import StoredPosition


class PendingWrites:
    """Rows written by a transaction, not yet sent to the database. The latest version wins:
    an order inserted and then changed in the same batch is inserted once, as it ended."""

    def __init__(self) -> None:
        self._inserted: dict[str, tuple[Order, int]] = {}  # order_id -> (order, position)
        self._updated: dict[str, Order] = {}
        self._fills: dict[str, tuple[Fill, int]] = {}  # execution_id -> (fill, sequence)
        self._positions: dict[tuple[str, str], StoredPosition] = {}
        self._by_client_id: dict[str, str] = {}
        self._by_broker_id: dict[str, str] = {}
        self._claimed: dict[str, str] = {}  # broker order id -> the order given it in this batch

    def insert_order(self, order: Order, position: int) -> None:
        self._inserted[order.order_id] = (order, position)
        self._index(order)

    def update_order(self, order: Order) -> None:
        if order.order_id in self._inserted:
            self._inserted[order.order_id] = (order, self._inserted[order.order_id][1])
        else:
            self._updated[order.order_id] = order
        self._index(order)

    def insert_fill(self, fill: Fill, sequence: int) -> None:
        self._fills[fill.execution_id] = (fill, sequence)

    def save_position(self, position: StoredPosition) -> None:
        self._positions[(position.strategy_id, position.symbol)] = position

    def order(self, order_id: str) -> Order | None:
        if order_id in self._inserted:
            return self._inserted[order_id][0]
        return self._updated.get(order_id)

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        order_id = self._by_client_id.get(client_order_id)
        return self.order(order_id) if order_id else None

    def order_by_broker_id(self, broker_order_id: str) -> Order | None:
        order_id = self._by_broker_id.get(broker_order_id)
        return self.order(order_id) if order_id else None

    def has_fill(self, execution_id: str) -> bool:
        return execution_id in self._fills

    def fills_of(self, order_id: str) -> list[Fill]:
        return [fill for fill, _ in self._fills.values() if fill.order_id == order_id]

    def claim_broker_id(self, broker_order_id: str, order_id: str) -> None:
        self._claimed[broker_order_id] = order_id

    @property
    def claimed_broker_ids(self) -> dict[str, str]:
        """broker order id → the order this batch gave it to: what the writer checks against the
        table when the unique constraint refuses the batch (store/writer.py)."""
        return self._claimed

    def write_into(self, statements: bulk.Statements, at: datetime) -> None:
        """Everything held, parents before children: orders, then fills, then positions."""
        repository.insert_orders(statements, list(self._inserted.values()))
        repository.update_orders(statements, list(self._updated.values()))
        repository.insert_fills(statements, list(self._fills.values()))
        repository.save_positions(statements, list(self._positions.values()), at)

    def _index(self, order: Order) -> None:
        self._by_client_id[order.client_order_id] = order.order_id
        if order.broker_order_id:
            self._by_broker_id[order.broker_order_id] = order.order_id


@dataclass
class Transaction:
    """The connection, the batch's clock, its events and hooks, and its pending row writes."""

    conn: AsyncConnection
    _next_sequence: int
    now: datetime
    updates: list[OrderUpdate] = field(default_factory=list)
    pending: PendingWrites = field(default_factory=PendingWrites)
    _on_rollback: list[Callable[[], None]] = field(default_factory=list)
    _on_commit: list[Callable[[], None]] = field(default_factory=list)

    def record(
        self,
        event_type: str,
        *,
        order: Order | None = None,
        fill: Fill | None = None,
        detail: str = "",
        strategy_id: str = "",
        symbol: str = "",
    ) -> OrderUpdate:
        """Append an event to the log, with the next sequence number."""
        update = OrderUpdate(
            sequence=self._next_sequence,
            event_type=event_type,
            strategy_id=order.strategy_id if order else strategy_id,
            symbol=order.symbol if order else symbol,
            time=self.now,
            order=order,
            fill=fill,
            detail=detail,
        )
        self._next_sequence += 1
        self.updates.append(update)
        return update

    def on_rollback(self, undo: Callable[[], None]) -> None:
        self._on_rollback.append(undo)

    def on_commit(self, hook: Callable[[], None]) -> None:
        self._on_commit.append(hook)

    # --- row writes, held until the batch commits ---

    def insert_order(self, order: Order, position: int) -> None:
        self.pending.insert_order(order, position)

    def update_order(self, order: Order) -> None:
        self.pending.update_order(order)

    def insert_fill(self, fill: Fill, sequence: int) -> None:
        self.pending.insert_fill(fill, sequence)

    def save_position(self, position: StoredPosition) -> None:
        self.pending.save_position(position)

    # --- reads that see the pending writes ---
    # Every order this batch changed is indexed by its ids (which never change once set), so a
    # miss in the pending writes means the stored row is current.

    async def get_order(self, order_id: str) -> Order | None:
        return self.pending.order(order_id) or await repository.get_order(self.conn, order_id)

    async def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        found = self.pending.order_by_client_id(client_order_id)
        return found or await repository.get_order_by_client_id(self.conn, client_order_id)

    async def get_order_by_broker_id(self, broker_order_id: str) -> Order | None:
        found = self.pending.order_by_broker_id(broker_order_id)
        return found or await repository.get_order_by_broker_id(self.conn, broker_order_id)

    def batch_holder_of_broker_id(self, broker_order_id: str) -> str | None:
        """The order id this batch gave `broker_order_id` to; None if none. The table is not read
        here: its unique constraint refuses a taken id, and the writer then finds which."""
        found = self.pending.order_by_broker_id(broker_order_id)
        return found.order_id if found else None

    def claim_broker_id(self, broker_order_id: str, order_id: str) -> None:
        self.pending.claim_broker_id(broker_order_id, order_id)

    async def fill_exists(self, execution_id: str) -> bool:
        return self.pending.has_fill(execution_id) or await repository.fill_exists(self.conn, execution_id)

    async def fills_of(self, order_id: str) -> list[Fill]:
        stored = await repository.fills_of(self.conn, order_id)
        return stored + self.pending.fills_of(order_id)
