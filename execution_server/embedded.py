"""OrderManagementSystem: the OMS's store and lifecycle for a Python program that places orders
itself (`await client.place_order(request)`) and wants them kept as the service keeps its own.

A thin facade over the service's parts, not a second implementation: orders are written by the
GroupCommitWriter through OrderLifecycle (their row, their events in the log), read by the
repository, in a database migrated by Alembic: in memory by default, or any database URL the
service takes. No risk checks: the orders it records were already placed by the caller.

`add_order` does not wait (it is called without `await` in the documented example): it queues the
write and returns a Recording, which the caller may await for the recorded order. Every read waits for the writes queued
before it, so `get_order` after `add_order` finds the order; a write that failed is raised by
the next read (or by close()) if its task was not awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from typing import Any

from execution_server.domain.orders import Order, OrderStatus
from execution_server.oms.errors import ClientOrderIdConflict
from execution_server.oms.lifecycle import OrderLifecycle
from execution_server.oms.state import OpenOrders
from execution_server.store import repository
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from execution_server.store.reads import read_connection
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

IN_MEMORY = "sqlite+aiosqlite:///:memory:"
PAGE = 500
# What add_order records: an order as place_order returns it, or one not yet sent.
RECORDABLE = frozenset({OrderStatus.PENDING, OrderStatus.SUBMITTED})


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _NoPortfolio:
    """The lifecycle tells a risk portfolio of orders opening and closing; there is none here."""

    def order_opened(self, order: Order) -> None: ...

    def order_closed(self, order: Order) -> None: ...


class Recording:
    """What add_order returns: await it for the recorded order (or the refusal). One not
    awaited reports its failure through the OMS's next read instead."""

    def __init__(self, task: asyncio.Task[Order]) -> None:
        self.task = task
        self.awaited = False

    def __await__(self) -> Generator[Any, None, Order]:
        self.awaited = True
        return self.task.__await__()


class OrderManagementSystem:
    """Orders recorded, kept and listed. Starts on first use; `await oms.close()` (or `async
    with`) at the end."""

    def __init__(self, database_url: str = IN_MEMORY) -> None:
        self.database_url = database_url
        self._engine = create_engine(database_url)
        self._open = OpenOrders()
        self._lifecycle = OrderLifecycle(self._open, _NoPortfolio())  # type: ignore[arg-type]
        self._writer: GroupCommitWriter | None = None
        self._starting: asyncio.Task[GroupCommitWriter] | None = None
        self._queued: list[Recording] = []
        self._closed = False

    # --- lifecycle ---

    async def start(self) -> None:
        """Migrate the database and start the writer. Idempotent; the first use calls it."""
        await self._started()

    def _started(self) -> asyncio.Task[GroupCommitWriter]:
        if self._closed:
            raise RuntimeError("this OrderManagementSystem is closed")
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        return self._starting

    async def _start(self) -> GroupCommitWriter:
        await upgrade_to_head(self._engine)
        async with self._engine.connect() as conn:
            last_sequence = await repository.max_sequence(conn)
            for order in await repository.open_orders(conn):
                self._open.load(order)
        writer = GroupCommitWriter(self._engine, last_sequence=last_sequence, clock=_utc_now,
                                   on_commit=lambda updates, encoded: None, refusals=(ClientOrderIdConflict,))
        writer.start()
        self._writer = writer
        return writer

    async def close(self) -> None:
        """Finish the queued writes, stop the writer, release the database. Idempotent."""
        if self._closed:
            return
        try:
            await self._settled()
        finally:
            self._closed = True
            if self._starting is not None:
                await asyncio.gather(self._starting, return_exceptions=True)
            if self._writer is not None:
                await self._writer.stop()
            await self._engine.dispose()

    async def __aenter__(self) -> OrderManagementSystem:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- writes ---

    def add_order(self, order: Order) -> Recording:
        """Record an order placed at the broker (PENDING or SUBMITTED, as place_order returns it);
        the same order added again is recorded once. Call it from a coroutine. ValueError at
        once for an order in another state; ClientOrderIdConflict, from the task or the next
        read, when another order holds its client order id."""
        if order.status not in RECORDABLE:
            raise ValueError(f"add_order records a new order (PENDING or SUBMITTED), not a {order.status.value} one")
        started = self._started()
        recording = Recording(asyncio.get_running_loop().create_task(self._add(started, order)))
        self._queued.append(recording)
        return recording

    async def _add(self, started: asyncio.Task[GroupCommitWriter], order: Order) -> Order:
        writer = await started
        return await writer.submit(lambda tx: self._record(tx, order))

    async def _record(self, tx: Transaction, order: Order) -> Order:
        existing = await self._open.find(tx, client_order_id=order.client_order_id)  # open or closed
        if existing is not None:
            if existing.order_id == order.order_id:
                return existing
            raise ClientOrderIdConflict(order.client_order_id, existing.order_id, ["order_id"], existing.strategy_id)
        pending = Order(order_id=order.order_id, spec=order.spec, status=OrderStatus.PENDING,
                        created_at=order.created_at, updated_at=order.created_at)
        recorded = self._lifecycle.place(tx, pending)
        if order.status is OrderStatus.SUBMITTED:
            recorded = await self._lifecycle.accept(tx, recorded, order.broker_order_id or "", order.broker_status)
        return recorded

    async def _settled(self) -> None:
        """Wait for every write queued so far; raise the first failure no caller has awaited."""
        queued, self._queued = self._queued, []
        outcomes = await asyncio.gather(*(recording.task for recording in queued), return_exceptions=True)
        for recording, outcome in zip(queued, outcomes, strict=True):
            if isinstance(outcome, BaseException) and not recording.awaited:
                raise outcome

    # --- reads ---

    async def get_order(self, order_id: str = "", *, client_order_id: str = "") -> Order | None:
        """An order by our id or its client order id; None when there is none."""
        await self._ready()
        async with read_connection(self._engine) as conn:
            if order_id:
                return await repository.get_order(conn, order_id)
            return await repository.get_order_by_client_id(conn, client_order_id)

    async def list_orders(
        self, *, strategy_id: str = "", symbol: str = "", statuses: Sequence[OrderStatus] = ()
    ) -> list[Order]:
        """Every order matching the filters, oldest first."""
        await self._ready()
        orders: list[Order] = []
        after = 0
        async with read_connection(self._engine) as conn:
            while True:
                rows = await repository.list_orders(conn, strategy_id=strategy_id, symbol=symbol.upper(),
                                                    statuses=statuses, after_position=after, limit=PAGE)
                orders.extend(order for _, order in rows)
                if len(rows) < PAGE:
                    return orders
                after = rows[-1][0]

    async def _ready(self) -> None:
        await self._started()
        await self._settled()
