"""Reconciliation runs: at start-up, on a timer, after a stream reconnect, and on demand.

A run reads the broker between two markers on its event stream (a cut), compares, and with
repair hands the differences to repair.py, which adopts the broker's truth. Every run is
recorded, with what it found and what repair could not explain.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.audit import trail as audit_trail
from execution_server.audit.entry import AuditEntry, by_caller
from execution_server.brokers.base import BrokerClient, BrokerOrder, BrokerPosition
from execution_server.domain.orders import Order, OrderStatus
from execution_server.oms.broker_events import BrokerEventApplier
from execution_server.oms.event_consumer import ANY_SYMBOL, BrokerEventConsumer, CutNotReached, CutUnavailable, Moved
from execution_server.oms.ports import PortfolioListener
from execution_server.oms.state import OpenOrders
from execution_server.positions.tracker import PositionBook
from execution_server.reconcile.compare import (
    Discrepancy,
    DiscrepancyKind,
    ReconcileReport,
    ReconciliationResult,
    orders_to_look_up,
    reconcile,
)
from execution_server.reconcile.repair import Repair
from execution_server.store import repository
from execution_server.store.codec import reconcile_report_from_row, reconcile_result_to_json
from execution_server.store.reads import read_connection
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter, StoreUnavailable

log = logging.getLogger(__name__)
POSITION_KINDS = frozenset(
    {DiscrepancyKind.POSITION_QUANTITY, DiscrepancyKind.POSITION_MISSING_LOCALLY, DiscrepancyKind.POSITION_MISSING_AT_BROKER}
)
# How long a run waits for the broker events received before its cut to be applied.
CUT_TIMEOUT_SECONDS = 5.0
# The trigger of a run an operator asked for (the Reconcile RPC): with repair, an operator
# action, recorded in the audit trail in the caller's name with the run it made.
OPERATOR_TRIGGER = "rpc"


@dataclass(frozen=True, slots=True)
class BrokerSnapshot:
    positions: list[BrokerPosition]
    open_orders: list[BrokerOrder]
    lookup: dict[str, BrokerOrder | None]
    local_ids: frozenset[str]  # our open orders just before the broker was read
    # Those of them still PENDING then: their submission may reach the broker after it was read
    # and be acknowledged here before the comparison, so "unknown there" proves nothing.
    pending_ids: frozenset[str] = frozenset()


class ReconcileRunner:
    def __init__(
        self,
        *,
        broker: BrokerClient,
        engine: AsyncEngine,
        writer: GroupCommitWriter,
        open_orders: OpenOrders,
        book: PositionBook,
        applier: BrokerEventApplier,
        events: BrokerEventConsumer,
        portfolio: PortfolioListener,
        clock: Callable[[], datetime],
        halt: Callable[[str], None] | None = None,
        history: int = 100,
        on_report: Callable[[ReconcileReport], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._on_report = on_report  # each completed run, for the metrics
        self._on_failure = on_failure  # the trigger of each run that failed (the broker, the store), likewise
        self._broker = broker
        self._engine = engine
        self._writer = writer
        self._open = open_orders
        self._book = book
        self._events = events
        self._repairs = Repair(writer=writer, open_orders=open_orders, book=book, applier=applier, portfolio=portfolio)
        self._clock = clock
        self._halt = halt
        self._history = history
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[ReconcileReport]] = set()

    async def run(self, *, repair: bool, trigger: str) -> ReconcileReport:
        """Compare our books with the broker's at one cut: the broker's state is read between two
        markers on its event stream, and compared once every event before the closing marker is
        applied, with later events held until the run is done. An order or symbol that events
        moved while the broker was being read is left for the next run: its difference may be
        one the snapshot did, or did not, include."""
        try:
            return await self._run(repair=repair, trigger=trigger)
        except Exception:
            if self._on_failure is not None:
                self._on_failure(trigger)
            raise

    async def _run(self, *, repair: bool, trigger: str) -> ReconcileReport:
        # Read here, in the caller's task: the writer that records it runs in its own.
        audited = by_caller("Reconcile", {"repair": True}) if repair and trigger == OPERATOR_TRIGGER else None
        async with self._lock:
            opening = self._events.open_window(self._broker.request_marker())  # before any await
            snapshot = await self._snapshot()
            try:
                async with self._events.held_at(opening, self._broker.request_marker(), CUT_TIMEOUT_SECONDS) as moved:
                    return await self._run_at(snapshot, moved, repair=repair, trigger=trigger, audited=audited)
            except CutUnavailable as why:
                log.info("reconcile (%s): no cut on the event stream (%s); comparing after the events received", trigger, why)
            except CutNotReached:
                raise StoreUnavailable(
                    "reconciliation needs every broker event received so far applied, and they are not yet: "
                    "is the database refusing writes? try again"
                ) from None
            await self._events.drained()
            return await self._run_at(await self._snapshot(), None, repair=repair, trigger=trigger, audited=audited)

    async def _run_at(
        self, snapshot: BrokerSnapshot, moved: Moved | None, *, repair: bool, trigger: str, audited: AuditEntry | None
    ) -> ReconcileReport:
        result = await self._compare(snapshot, moved)
        unresolved: tuple[Discrepancy, ...] = ()
        run_id = await self._reserve_run_id(trigger, repair, result.checked_at)
        if repair and result.has_discrepancies:
            unresolved = await self._repair(run_id, snapshot, moved)
        report = ReconcileReport(run_id, trigger, repair, result, unresolved)
        await self._save(report, audited)
        self._log(report)
        if self._on_report is not None:
            self._on_report(report)
        if repair and unresolved and self._halt is not None:
            self._halt(f"reconcile run {run_id}: {len(unresolved)} discrepancies repair could not explain")
        return report

    async def _snapshot(self) -> BrokerSnapshot:
        # Our open orders as the broker is about to be read: an order recorded later cannot be
        # in what the broker reports, so it is not compared this time.
        local = self._open.all()
        local_ids = frozenset(order.order_id for order in local)
        pending_ids = frozenset(order.order_id for order in local if order.status is OrderStatus.PENDING)
        positions = await self._broker.positions()
        open_orders = await self._broker.open_orders()
        lookup: dict[str, BrokerOrder | None] = {}
        for client_order_id in orders_to_look_up(self._open.all(), open_orders):
            lookup[client_order_id] = await self._broker.find_by_client_id(client_order_id)
        return BrokerSnapshot(positions, open_orders, lookup, local_ids, pending_ids)

    async def _compare(self, snapshot: BrokerSnapshot, moved: Moved | None) -> ReconciliationResult:
        local = [order for order in self._open.all() if order.order_id in snapshot.local_ids]
        local += await self._closed_here(snapshot)
        result = reconcile(
            self._book.account_quantities(),
            local,
            snapshot.positions,
            snapshot.open_orders,
            snapshot.lookup,
            self._clock(),
        )
        result = ReconciliationResult(
            tuple(d for d in result.discrepancies if not _sent_after_the_read(d, snapshot)), result.checked_at
        )
        if moved is None:
            return result
        kept = tuple(d for d in result.discrepancies if not _moved(d, moved))
        if len(kept) < len(result.discrepancies):
            log.info("%d differences left for the next run: their orders moved while the broker was read",
                     len(result.discrepancies) - len(kept))
        return ReconciliationResult(kept, result.checked_at)

    async def _closed_here(self, snapshot: BrokerSnapshot) -> list[Order]:
        """Orders the broker lists as open that are closed here: compared as ours (a status
        difference), not as orders unknown here."""
        missing = [o.client_order_id for o in snapshot.open_orders if self._open.by_client_id(o.client_order_id) is None]
        if not missing:
            return []
        async with read_connection(self._engine) as conn:
            found = [await repository.get_order_by_client_id(conn, client_order_id) for client_order_id in missing]
        return [order for order in found if order is not None and not order.status.is_open]

    async def _repair(self, run_id: int, snapshot: BrokerSnapshot, moved: Moved | None) -> tuple[Discrepancy, ...]:
        """Adopt the snapshot's truth: the broker's orders (their fills, by execution id, so that a
        position comes with the fills behind it), then whatever positions still differ. At a cut
        nothing else moves meanwhile, so what is left after this is what repair cannot explain."""
        await self._repairs.adopt_orders(
            snapshot.open_orders, snapshot.lookup, f"reconcile run {run_id}", moved, on_their_way=snapshot.pending_ids
        )
        await self._repairs.adjust_positions(run_id, snapshot.positions, moved)
        left = (await self._compare(snapshot, moved)).discrepancies
        return tuple(d for d in left if not _on_its_way(self._open.get(d.order_id)))

    async def _reserve_run_id(self, trigger: str, repair: bool, checked_at: datetime) -> int:
        """The run's row is written first, so its number is the database's own and events
        of its repair can name it."""

        async def op(tx: Transaction) -> int:
            return await repository.insert_reconcile_run(
                tx.conn, checked_at=checked_at, trigger=trigger, repair=repair, has_discrepancies=False,
                result=reconcile_result_to_json((), ()),
            )

        return await self._writer.run(op)

    async def _save(self, report: ReconcileReport, audited: AuditEntry | None = None) -> None:
        """Complete the run's row and, for an operator's repair, its audit entry in the same
        transaction: the run (ListReconcileRuns) holds what was found and what repair left."""
        body = reconcile_result_to_json(report.result.discrepancies, report.unresolved)

        async def op(tx: Transaction) -> None:
            await repository.complete_reconcile_run(
                tx.conn, report.run_id, has_discrepancies=report.has_discrepancies, result=body
            )
            if audited is not None:
                await audit_trail.write(tx, _repair_entry(audited, report))

        await self._writer.run(op)

    async def recent(self, limit: int) -> list[ReconcileReport]:
        """The last runs, newest first, as they were recorded."""
        async with read_connection(self._engine) as conn:
            runs = await repository.recent_reconcile_runs(conn, min(limit, self._history))
        return [reconcile_report_from_row(run) for run in runs]

    def _log(self, report: ReconcileReport) -> None:
        if not report.has_discrepancies:
            log.info("reconcile run %d (%s): no discrepancies", report.run_id, report.trigger)
            return
        log.warning(
            "reconcile run %d (%s): %d discrepancies%s: %s",
            report.run_id,
            report.trigger,
            len(report.result.discrepancies),
            f", {len(report.unresolved)} unresolved after repair" if report.repair else "",
            "; ".join(f"{d.kind.name} {d.symbol} {d.order_id or d.client_order_id} {d.detail}".strip() for d in report.result.discrepancies),
        )

    # --- triggers ---

    def start_timer(self, interval_seconds: float, repair: bool) -> None:
        async def tick() -> None:
            while True:
                await asyncio.sleep(interval_seconds)
                try:
                    await self.run(repair=repair, trigger="timer")
                except Exception as error:
                    log.error("timed reconcile failed: %s", error)

        self._timer = asyncio.create_task(tick(), name="reconcile-timer")

    def trigger_soon(self, trigger: str, repair: bool) -> None:
        task = asyncio.create_task(self.run(repair=repair, trigger=trigger))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception() and log.error("reconcile failed: %s", t.exception()))

    async def stop(self) -> None:
        tasks = [task for task in [self._timer, *self._background] if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timer = None


def _repair_entry(asked: AuditEntry, report: ReconcileReport) -> AuditEntry:
    """What an operator's repair did: the run that records it, how many differences it found
    and how many it could not explain, by kind."""
    kinds: dict[str, int] = {}
    for discrepancy in report.result.discrepancies:
        kinds[discrepancy.kind.name] = kinds.get(discrepancy.kind.name, 0) + 1
    return AuditEntry(asked.actor, asked.action, {
        **asked.details,
        "reconcile_run_id": report.run_id,
        "discrepancies": len(report.result.discrepancies),
        "unresolved": len(report.unresolved),
        "kinds": kinds,
    })


def _sent_after_the_read(discrepancy: Discrepancy, snapshot: BrokerSnapshot) -> bool:
    return discrepancy.kind is DiscrepancyKind.ORDER_MISSING_AT_BROKER and discrepancy.order_id in snapshot.pending_ids


def _moved(discrepancy: Discrepancy, moved: Moved) -> bool:
    if discrepancy.kind in POSITION_KINDS:
        return discrepancy.symbol in moved.symbols or ANY_SYMBOL in moved.symbols
    return discrepancy.client_order_id in moved.client_order_ids


def _on_its_way(order: Order | None) -> bool:
    return order is not None and order.status is OrderStatus.PENDING and order.in_flight
