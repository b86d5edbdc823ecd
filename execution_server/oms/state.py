"""The OMS's in-memory view of open orders, indexed three ways, changed only by the writer.

Every change made inside a transaction registers its undo, so a batch that fails to commit
leaves this view exactly as the database is.

Broker order ids are unique across all orders (the database says so too). A broker that hands
out an id another local order already holds (a simulator that lost its state, a broker bug) is
an anomaly on the order it came with: logged, and that order goes on without a broker id. It
is still known by its client order id, which is what the broker is asked by and reconciliation
matches on; what must not happen is a storage error, for it or for every order after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable

from execution_server.domain.orders import Order, OrderStatus
from execution_server.store.transaction import Transaction

log = logging.getLogger(__name__)


class OpenOrders:
    def __init__(self) -> None:
        self._by_id: dict[str, Order] = {}
        self._by_client_id: dict[str, str] = {}
        self._by_broker_id: dict[str, str] = {}
        # The execution ids already applied to each open order: a fill's duplicate check needs
        # no database read unless the order is closed.
        self._executions: dict[str, set[str]] = {}
        self._waiters: dict[str, list[asyncio.Future[Order]]] = defaultdict(list)
        self._committed: dict[str, Order | None] = {}  # watched order id -> its last committed version
        # Broker ids found held by other (closed) orders when a batch was written: few, and kept
        # so that the batch, run again, records its orders without them.
        self._taken_broker_ids: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def all(self) -> list[Order]:
        return list(self._by_id.values())

    def get(self, order_id: str) -> Order | None:
        return self._by_id.get(order_id)

    def by_client_id(self, client_order_id: str) -> Order | None:
        order_id = self._by_client_id.get(client_order_id)
        return self._by_id.get(order_id) if order_id else None

    def by_broker_id(self, broker_order_id: str) -> Order | None:
        order_id = self._by_broker_id.get(broker_order_id)
        return self._by_id.get(order_id) if order_id else None

    def load(self, order: Order, execution_ids: Iterable[str] = ()) -> None:
        """An open order read at start-up, with the execution ids of its fills."""
        self._put(order)
        self._executions[order.order_id] = set(execution_ids)

    def track(self, tx: Transaction, before: Order | None, after: Order) -> None:
        """Record `after` as the order's current state; undone if the transaction fails."""
        self._put(after)
        tx.on_rollback(lambda: self._restore(before, after))
        if before is None:
            self._executions[after.order_id] = set()
            tx.on_rollback(lambda: self._executions.pop(after.order_id, None))
        if not after.status.is_open:
            tx.on_commit(lambda: self._executions.pop(after.order_id, None))
        tx.on_commit(lambda: self._notify(after))

    def note_taken_broker_ids(self, taken: dict[str, str]) -> None:
        self._taken_broker_ids.update(taken)

    def has_execution(self, order_id: str, execution_id: str) -> bool | None:
        """Whether a fill with this execution id was applied to the order; None when the order
        is not open here (the database knows)."""
        known = self._executions.get(order_id)
        return None if known is None else execution_id in known

    def add_execution(self, tx: Transaction, order_id: str, execution_id: str) -> None:
        known = self._executions.get(order_id)
        if known is not None and execution_id not in known:
            known.add(execution_id)
            tx.on_rollback(lambda: known.discard(execution_id))

    async def find(self, tx: Transaction, client_order_id: str = "", broker_order_id: str = "") -> Order | None:
        """An order by either id: open ones from memory, closed ones from the database. The
        client order id is ours, so when both are given it decides: an order found by the
        broker id under another client order id is some other order (a reused broker id)."""

        def agrees(found: Order | None) -> Order | None:
            return found if found is None or not client_order_id or found.client_order_id == client_order_id else None

        order = None
        if broker_order_id:
            order = agrees(self.by_broker_id(broker_order_id))
        if order is None and client_order_id:
            order = self.by_client_id(client_order_id)
        if order is None and client_order_id:
            order = await tx.get_order_by_client_id(client_order_id)
        if order is None and broker_order_id:
            order = agrees(await tx.get_order_by_broker_id(broker_order_id))
        return order

    async def claimable_broker_id(self, tx: Transaction, order: Order, broker_order_id: str) -> str | None:
        """The broker id `order` may record: `broker_order_id`, unless another local order holds
        it, in which case the anomaly is logged and None comes back (never "": the column is
        unique, and an empty id would collide too)."""
        if not broker_order_id or order.broker_order_id == broker_order_id:
            return broker_order_id or None
        # No read here: this runs in the writer for every acknowledgement (a read each halved the
        # write path). Memory and the batch only; an id a closed order holds is refused by the
        # table's unique constraint, and the writer then asks which ids were taken, remembers them
        # here (note_taken_broker_ids) and runs the batch again.
        holder = (
            self._by_broker_id.get(broker_order_id)
            or self._taken_broker_ids.get(broker_order_id)
            or tx.batch_holder_of_broker_id(broker_order_id)
        )
        if holder is None or holder == order.order_id:
            tx.claim_broker_id(broker_order_id, order.order_id)
            return broker_order_id
        log.error(
            "order %s (client order id %r): the broker reports broker order id %r, which order %s "
            "already holds; recorded without a broker order id",
            order.order_id, order.client_order_id, broker_order_id, holder,
        )  # fmt: skip
        return None

    def wait_for_change(self, order_id: str) -> asyncio.Future[Order]:
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._waiters[order_id].append(future)
        return future

    def _put(self, order: Order) -> None:
        previous = self._by_id.get(order.order_id)
        if previous is not None and previous.broker_order_id and previous.broker_order_id != order.broker_order_id:
            self._by_broker_id.pop(previous.broker_order_id, None)
        if order.status.is_open:
            self._by_id[order.order_id] = order
            self._by_client_id[order.client_order_id] = order.order_id
            if order.broker_order_id:
                self._by_broker_id[order.broker_order_id] = order.order_id
        else:
            self._remove(order)

    def _remove(self, order: Order) -> None:
        self._by_id.pop(order.order_id, None)
        self._by_client_id.pop(order.client_order_id, None)
        if order.broker_order_id:
            self._by_broker_id.pop(order.broker_order_id, None)

    def _restore(self, before: Order | None, after: Order) -> None:
        self._remove(after)
        if before is not None:
            self._put(before)

    def watch(self, order_id: str) -> None:
        """Keep the last committed version of this order from now on (PlaceOrder's reply)."""
        self._committed[order_id] = None

    def last_committed(self, order_id: str) -> Order | None:
        """The order as its last committed change since watch() left it; None if none."""
        return self._committed.get(order_id)

    def unwatch(self, order_id: str) -> None:
        self._committed.pop(order_id, None)

    def _notify(self, order: Order) -> None:
        # Called when the change's batch has committed: never a change still being written.
        if order.order_id in self._committed:
            self._committed[order.order_id] = order
        for future in self._waiters.pop(order.order_id, []):
            if not future.done():
                future.set_result(order)
