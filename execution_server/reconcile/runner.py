"""Reconciliation runs: at start-up, on a timer, after a stream reconnect, and on demand.

A run compares; with repair it adopts the broker's truth. Repair never places an order: it
replays the broker's fills through the OMS (with the broker's execution ids, so replays are
ignored), settles statuses, adopts orders unknown here under the strategy `external`, and
only then adjusts positions that still differ, recording each adjustment as an event that
names the run. Nothing is deleted; every repair is an event. Repairing twice changes nothing
the second time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.brokers.base import BrokerClient, BrokerOrder, BrokerPosition
from execution_server.domain.money import format_decimal
from execution_server.domain.orders import Order, OrderStatus
from execution_server.domain.positions import adjusted_to
from execution_server.oms.broker_events import EXTERNAL_STRATEGY, BrokerEventApplier
from execution_server.oms.event_consumer import ANY_SYMBOL, BrokerEventConsumer, CutUnavailable, Moved
from execution_server.oms.fills import ACCOUNT, stored
from execution_server.oms.ports import PortfolioListener
from execution_server.oms.state import OpenOrders
from execution_server.positions.tracker import PositionBook
from execution_server.reconcile.compare import (
    Discrepancy,
    DiscrepancyKind,
    ReconciliationResult,
    orders_to_look_up,
    reconcile,
)
from execution_server.store import repository
from execution_server.store.reads import read_connection
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter, StoreUnavailable

log = logging.getLogger(__name__)
POSITION_KINDS = frozenset(
    {DiscrepancyKind.POSITION_QUANTITY, DiscrepancyKind.POSITION_MISSING_LOCALLY, DiscrepancyKind.POSITION_MISSING_AT_BROKER}
)
# How long a run waits for the broker events received before its cut to be applied.
CUT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    run_id: int
    trigger: str
    repair: bool
    result: ReconciliationResult
    # After repair: what still differs (nothing when every difference was explained).
    unresolved: tuple[Discrepancy, ...] = ()

    @property
    def has_discrepancies(self) -> bool:
        return self.result.has_discrepancies


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
    ) -> None:
        self._broker = broker
        self._engine = engine
        self._writer = writer
        self._open = open_orders
        self._book = book
        self._applier = applier
        self._events = events
        self._portfolio = portfolio
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
        async with self._lock:
            opening = self._events.open_window(self._broker.request_marker())  # before any await
            snapshot = await self._snapshot()
            try:
                async with self._events.held_at(opening, self._broker.request_marker(), CUT_TIMEOUT_SECONDS) as moved:
                    return await self._run_at(snapshot, moved, repair=repair, trigger=trigger)
            except CutUnavailable as why:
                log.info("reconcile (%s): no cut on the event stream (%s); comparing after the events received", trigger, why)
            except TimeoutError:
                raise StoreUnavailable(
                    "reconciliation needs every broker event received so far applied, and they are not yet: "
                    "is the database refusing writes? try again"
                ) from None
            await self._events.drained()
            return await self._run_at(await self._snapshot(), None, repair=repair, trigger=trigger)

    async def _run_at(self, snapshot: BrokerSnapshot, moved: Moved | None, *, repair: bool, trigger: str) -> ReconcileReport:
        result = await self._compare(snapshot, moved)
        unresolved: tuple[Discrepancy, ...] = ()
        run_id = await self._reserve_run_id(trigger, repair, result.checked_at)
        if repair and result.has_discrepancies:
            unresolved = await self._repair(run_id, snapshot, moved)
        report = ReconcileReport(run_id, trigger, repair, result, unresolved)
        await self._save(report)
        self._log(report)
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
        source = f"reconcile run {run_id}"
        await self._adopt_orders(snapshot, source, moved)
        await self._adjust_positions(run_id, snapshot.positions, moved)
        left = (await self._compare(snapshot, moved)).discrepancies
        return tuple(d for d in left if not _on_its_way(self._open.get(d.order_id)))

    async def _adopt_orders(self, snapshot: BrokerSnapshot, source: str, moved: Moved | None = None) -> None:
        skip = moved.client_order_ids if moved is not None else frozenset()
        for broker_order in snapshot.open_orders:
            if broker_order.client_order_id not in skip:
                await self._applier.adopt_broker_state(broker_order, source=source, adopt_unknown=True)
        for client_order_id, broker_order in snapshot.lookup.items():
            if client_order_id in skip:
                continue
            if broker_order is not None:
                await self._applier.adopt_broker_state(broker_order, source=source, adopt_unknown=False)
            else:
                await self._close_missing(client_order_id, source, snapshot)

    async def _close_missing(self, client_order_id: str, source: str, snapshot: BrokerSnapshot) -> None:
        order = self._open.by_client_id(client_order_id)
        if order is None:
            return
        if order.status is OrderStatus.PENDING or order.order_id in snapshot.pending_ids:
            # In flight (only those are looked up): its submission may not have reached the broker
            # yet. The OMS's answer, or settlement by client order id, decides; rejecting it here
            # would leave an order working at the broker that we call REJECTED.
            log.info("order %s is on its way to the broker; left to the OMS to settle (%s)", order.order_id, source)
            return
        await self._applier.cancel_missing(order, f"MISSING_AT_BROKER: unknown at the broker ({source})")

    async def _adjust_positions(
        self, run_id: int, broker_positions: list[BrokerPosition], moved: Moved | None = None
    ) -> None:
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
        tx.save_position(stored(EXTERNAL_STRATEGY, external_after))
        tx.save_position(stored(ACCOUNT, account_after))
        detail = (
            f"reconcile run {run_id}: account {symbol} adjusted from {format_decimal(account_before.quantity)} "
            f"to the broker's {format_decimal(target)} through strategy {EXTERNAL_STRATEGY}"
        )
        tx.record("position_adjusted", strategy_id=EXTERNAL_STRATEGY, symbol=symbol, detail=detail)
        self._portfolio.position_adjusted(EXTERNAL_STRATEGY, symbol, external_quantity, external_after.average_entry_price)
        log.warning(detail)

    async def _reserve_run_id(self, trigger: str, repair: bool, checked_at: datetime) -> int:
        """The run's row is written first, so its number is the database's own and events
        of its repair can name it."""

        async def op(tx: Transaction) -> int:
            return await repository.insert_reconcile_run(
                tx.conn, checked_at=checked_at, trigger=trigger, repair=repair, has_discrepancies=False,
                result=json.dumps({"discrepancies": [], "unresolved": []}),
            )

        return await self._writer.run(op)

    async def _save(self, report: ReconcileReport) -> None:
        body = json.dumps(
            {
                "discrepancies": [_discrepancy_json(d) for d in report.result.discrepancies],
                "unresolved": [_discrepancy_json(d) for d in report.unresolved],
            }
        )

        async def op(tx: Transaction) -> None:
            await repository.complete_reconcile_run(
                tx.conn, report.run_id, has_discrepancies=report.has_discrepancies, result=body
            )

        await self._writer.run(op)

    async def recent(self, limit: int) -> list[ReconcileReport]:
        """The last runs, newest first, as they were recorded."""
        async with read_connection(self._engine) as conn:
            runs = await repository.recent_reconcile_runs(conn, min(limit, self._history))
        return [_report_from_row(run) for run in runs]

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


def _sent_after_the_read(discrepancy: Discrepancy, snapshot: BrokerSnapshot) -> bool:
    return discrepancy.kind is DiscrepancyKind.ORDER_MISSING_AT_BROKER and discrepancy.order_id in snapshot.pending_ids


def _moved(discrepancy: Discrepancy, moved: Moved) -> bool:
    if discrepancy.kind in POSITION_KINDS:
        return discrepancy.symbol in moved.symbols or ANY_SYMBOL in moved.symbols
    return discrepancy.client_order_id in moved.client_order_ids


def _on_its_way(order: Order | None) -> bool:
    return order is not None and order.status is OrderStatus.PENDING and order.in_flight


def _report_from_row(run: dict[str, object]) -> ReconcileReport:
    body = json.loads(str(run["result"]))
    checked_at = run["checked_at"]
    assert isinstance(checked_at, datetime)
    found = tuple(_discrepancy_from_json(item) for item in body["discrepancies"])
    return ReconcileReport(
        run_id=int(run["run_id"]),  # type: ignore[call-overload]
        trigger=str(run["trigger"]),
        repair=bool(run["repair"]),
        result=ReconciliationResult(found, checked_at),
        unresolved=tuple(_discrepancy_from_json(item) for item in body["unresolved"]),
    )


def _discrepancy_from_json(item: dict[str, str]) -> Discrepancy:
    return Discrepancy(
        kind=DiscrepancyKind[item["kind"]],
        symbol=item["symbol"],
        local_quantity=item["local_quantity"],
        broker_quantity=item["broker_quantity"],
        order_id=item["order_id"],
        detail=item["detail"],
        client_order_id=item["client_order_id"],
    )


def _discrepancy_json(discrepancy: Discrepancy) -> dict[str, str]:
    return {
        "kind": discrepancy.kind.name,
        "symbol": discrepancy.symbol,
        "local_quantity": discrepancy.local_quantity,
        "broker_quantity": discrepancy.broker_quantity,
        "order_id": discrepancy.order_id,
        "client_order_id": discrepancy.client_order_id,
        "detail": discrepancy.detail,
    }


