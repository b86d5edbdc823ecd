"""The composition root: builds everything, wires it, and owns the start and stop order.

Start: database (migrate) → writer → load open orders, positions, kill switch → broker →
recovery → event consumer → start-up reconciliation → gRPC SERVING.
Stop: NOT_SERVING and stop accepting → streams end (UNAVAILABLE) → in-flight calls finish →
background tasks → writer drains → broker → database.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.api.convert import encode_update
from execution_server.api.risk_servicer import RiskServicer
from execution_server.api.server import EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE, GrpcServer
from execution_server.api.servicer import ExecutionServicer
from execution_server.api.simulator_servicer import SimulatorServicer
from execution_server.brokers.base import BrokerClient
from execution_server.brokers.factory import build_broker
from execution_server.config import Settings
from execution_server.domain.events import OrderUpdate
from execution_server.domain.orders import InvalidFill, InvalidTransition
from execution_server.oms.errors import ClientOrderIdConflict, OrderNotCancellable, OrderNotFound
from execution_server.domain.positions import Position
from execution_server.events.db_log import DatabaseLog
from execution_server.events.fanout import Fanout
from execution_server.events.log import LogEntry
from execution_server.oms.broker_events import BrokerEventApplier
from execution_server.oms.event_consumer import BrokerEventConsumer
from execution_server.oms.fills import ACCOUNT, FillRecorder
from execution_server.oms.lifecycle import OrderLifecycle
from execution_server.oms.recovery import Recovery
from execution_server.oms.service import OrderService
from execution_server.oms.state import OpenOrders
from execution_server.positions.tracker import PositionBook
from execution_server.reconcile.runner import ReconcileRunner
from execution_server.risk.control import RiskControl
from execution_server.store import repository
from execution_server.store.database import create_engine
from execution_server.store.migrate import is_at_head, upgrade_to_head
from execution_server.store.reads import read_connection
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

# What an operation raises, by design, before it writes anything: it fails only its caller.
REFUSALS: tuple[type[Exception], ...] = (
    InvalidTransition, InvalidFill, ClientOrderIdConflict, OrderNotFound, OrderNotCancellable,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_until(clock_time_utc: str, now: datetime) -> float:
    """Seconds from `now` to the next "HH:MM" UTC (tomorrow's when today's has passed)."""
    hours, minutes = (int(part) for part in clock_time_utc.split(":"))
    moment = now.astimezone(UTC).replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if moment <= now:
        moment += timedelta(days=1)
    return (moment - now).total_seconds()


class Application:
    """One running service. `start()` returns once it is SERVING; `stop()` is idempotent."""

    def __init__(self, settings: Settings, broker: BrokerClient | None = None) -> None:
        self.settings = settings
        self.engine: AsyncEngine = create_engine(settings.database_url)
        self.broker: BrokerClient = broker or build_broker(settings)
        self.open_orders = OpenOrders()
        self.book = PositionBook()
        self._stopped = False
        self._started = False
        self._health_updates: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        settings = self.settings
        if settings.migrate_on_start:
            await upgrade_to_head(self.engine)
        elif not await is_at_head(self.engine):
            raise RuntimeError("the database schema is not at head: run `execution-server migrate`")
        async with self.engine.connect() as conn:
            last_sequence = await repository.max_sequence(conn)
            open_orders = await repository.open_orders(conn)
            executions = await repository.execution_ids_of_open_orders(conn)
            positions = await repository.load_positions(conn)
            kill_switch = await repository.load_kill_switch(conn)
            today = utc_now().date()
            day_openings = await repository.load_day_openings(conn, today)
            day_opening_costs = await repository.load_day_opening_costs(conn, today)
            released = await repository.load_reduce_only_releases(conn, today)
            day_cash = await repository.day_cash(conn, datetime.combine(today, time.min, UTC))

        self.log_reader = DatabaseLog(self.engine, encode_update)
        self.log_reader.high_water_mark = last_sequence
        self.fanout = Fanout(self.log_reader, window_size=settings.stream.window_size, high_water_mark=last_sequence)
        self.writer = GroupCommitWriter(
            self.engine, last_sequence=last_sequence, clock=utc_now, on_commit=self._published, refusals=REFUSALS,
            encode=encode_update, on_broker_ids_taken=self.open_orders.note_taken_broker_ids,
        )
        self.risk = RiskControl(
            settings=settings,
            reference_price=self.broker.reference_price,
            writer=self.writer,
            stored_kill_switch=kill_switch,
        )
        self._load(open_orders, executions, positions)

        self.lifecycle = OrderLifecycle(self.open_orders, self.risk.portfolio)
        self.fills = FillRecorder(self.open_orders, self.book, self.risk.portfolio, self.lifecycle)
        self.applier = BrokerEventApplier(
            writer=self.writer,
            open_orders=self.open_orders,
            fills=self.fills,
            portfolio=self.risk.portfolio,
            lifecycle=self.lifecycle,
            on_unexplained=self._unexplained,
        )
        self.recovery = Recovery(
            broker=self.broker, open_orders=self.open_orders, applier=self.applier,
            settle_attempts=settings.settle_attempts,
        )
        self.orders = OrderService(
            writer=self.writer,
            reader=lambda: read_connection(self.engine),
            open_orders=self.open_orders,
            broker=self.broker,
            risk=self.risk.manager,
            portfolio=self.risk.portfolio,
            lifecycle=self.lifecycle,
            look_up_later=self.recovery.look_up_later,
            cancel_wait_seconds=settings.cancel_wait_seconds,
            submit_timeout_seconds=settings.submit_timeout_seconds,
        )
        self.risk.bind_orders(self.orders)
        self.consumer = BrokerEventConsumer(
            self.broker,
            self.applier,
            on_reconnect=lambda: self.reconciler.trigger_soon("reconnect", settings.reconcile.auto_repair),
            on_degraded=self._events_degraded,
            on_recovered=lambda: self.reconciler.trigger_soon("store recovered", settings.reconcile.auto_repair),
            on_refused=self._unexplained,
        )
        self.reconciler = ReconcileRunner(
            broker=self.broker,
            engine=self.engine,
            writer=self.writer,
            open_orders=self.open_orders,
            book=self.book,
            applier=self.applier,
            events=self.consumer,
            portfolio=self.risk.portfolio,
            clock=utc_now,
            halt=self.risk.halt if settings.reconcile.halt_on_unexplained else None,
            history=settings.reconcile.history,
        )
        services: dict = {
            EXECUTION_SERVICE: ExecutionServicer(
                self.orders, self.book, self.reconciler, self.fanout,
                batch_interval=settings.stream.batch_interval_seconds,
                catch_up_send_slots=settings.stream.catch_up_send_slots,
            ),
            RISK_SERVICE: RiskServicer(self.risk),
        }
        if self.broker.name == "simulated":
            services[SIMULATOR_SERVICE] = SimulatorServicer(self.broker)
        self.server = GrpcServer(settings.grpc_address, services, keepalive_seconds=settings.keepalive_seconds)

        self.writer.start()
        await self.broker.start()
        # Before the broker's news is applied:
        await self.risk.resume_day(today, day_openings, day_cash, day_opening_costs, released)
        self.consumer.start()
        await self.recovery.recover_open_orders()
        await self.reconciler.run(repair=settings.reconcile.auto_repair, trigger="startup")
        self.port = await self.server.start()
        self.reconciler.start_timer(settings.reconcile.interval_seconds, settings.reconcile.auto_repair)
        self.risk.start_watch()
        close = settings.simulator.session_close_utc
        if close is not None and self.broker.name == "simulated":
            self._session = asyncio.create_task(self._close_sessions_daily(close))
        if settings.stream.retention_events is not None:
            self._retention = asyncio.create_task(self._trim_log_forever(settings.stream.retention_events))
        await self.server.set_serving()
        self._started = True
        log.info(
            "serving execution.v1.ExecutionService on %s (port %d), broker %s, database %s",
            settings.grpc_address, self.port, self.broker.name, settings.masked()["database_url"],
        )
        return self.port

    def _load(self, open_orders: list, executions: dict[str, list[str]], positions: list) -> None:
        for order in open_orders:
            self.open_orders.load(order, executions.get(order.order_id, ()))
            self.risk.portfolio.order_opened(order)
        accounts = []
        for stored in positions:
            position = Position(stored.symbol, stored.quantity, stored.average_entry_price, stored.realized_pnl)
            if stored.strategy_id == ACCOUNT:
                accounts.append(position)
            else:
                self.book.set(stored.strategy_id, stored.symbol, position)
                self.risk.portfolio.position_adjusted(
                    stored.strategy_id, stored.symbol, stored.quantity, stored.average_entry_price
                )
        for position in accounts:
            self.book.set_account(position.symbol, position)

    def _published(self, updates: list[OrderUpdate], payloads: list[bytes]) -> None:
        """After each commit: the new entries go to every subscriber, as the bytes written."""
        self.log_reader.high_water_mark = updates[-1].sequence
        self.fanout.publish(
            [LogEntry(u.sequence, u.strategy_id, u.symbol, payload) for u, payload in zip(updates, payloads, strict=True)]
        )

    async def _close_sessions_daily(self, close_utc: str) -> None:
        """The simulated market closes at the same UTC time every day: DAY orders expire."""
        while True:
            await asyncio.sleep(seconds_until(close_utc, utc_now()))
            expired = self.broker.close_session()  # type: ignore[attr-defined]
            log.info("simulated session closed at %s UTC: %d DAY orders expired", close_utc, len(expired))

    async def _trim_log_forever(self, keep: int, interval_seconds: float = 5.0) -> None:
        """Retention: keep the newest `keep` log entries (orders and fills themselves stay).
        A client resuming from before them gets OUT_OF_RANGE, never a silent gap."""
        while True:
            await self.trim_log(keep)
            await asyncio.sleep(interval_seconds)

    async def trim_log(self, keep: int) -> None:
        # Never the newest entry: it carries the sequence a restart continues from.
        cutoff = min(self.writer.last_sequence - max(keep, 1), self.writer.last_sequence - 1)
        if cutoff <= 0:
            return

        async def trim(tx) -> None:  # type: ignore[no-untyped-def]
            await repository.trim_events(tx.conn, cutoff)

        try:
            await self.writer.run(trim)
        except Exception as error:
            log.error("event log retention failed: %s", error)

    def _events_degraded(self, degraded: bool) -> None:
        if not self._started:
            return
        task = asyncio.create_task(self.server.set_books_current(not degraded))
        self._health_updates.add(task)
        task.add_done_callback(self._health_updates.discard)

    def _unexplained(self, what: str) -> None:
        log.warning("unexplained broker event (%s); reconciling", what)
        if self._started:
            self.reconciler.trigger_soon("unexplained", self.settings.reconcile.auto_repair)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if hasattr(self, "fanout"):
            self.fanout.close()
        if hasattr(self, "server"):
            await self.server.stop(self.settings.grace_seconds)
        for task in (getattr(self, "_retention", None), getattr(self, "_session", None)):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        for part in ("reconciler", "consumer", "recovery", "risk"):
            if hasattr(self, part):
                await getattr(self, part).stop()
        if hasattr(self, "writer"):
            await self.writer.stop()
        await self.broker.close()
        await self.engine.dispose()


# Full collections wait for this many collections of the middle generation (the default is
# 10): about one a minute at 1,000 orders/s instead of one a second. Each pauses the loop; what
# they found in the stream benchmark was 0-75 objects, so memory does not notice.
FULL_COLLECTION_EVERY = 1_000


def tune_collector() -> None:
    """Keeps the cyclic collector's full passes off the event loop's critical path.

    A full pass walks every tracked object and holds the loop while it does. Start-up leaves
    ~90,000 (modules, gRPC, SQLAlchemy, the loaded state); with them in each pass, each one
    stalled the loop 50-80 ms, once a second at 1,000 orders/s, and that was the whole of a
    stream subscriber's p99 (benchmarks/stream_grpc.py). They are frozen here, after a
    collection: frozen objects are still freed when their last reference goes, only cycles among
    them would never be collected, so this runs once, on what lives as long as the process."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


async def serve(settings: Settings, stop_signal: asyncio.Event) -> None:
    app = Application(settings)
    try:
        await app.start()
        tune_collector()
        # SIGHUP re-reads the risk limits; a file that does not parse leaves the old ones in force.
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, app.risk.reload_limits)
        print(
            f"execution-server listening on {settings.grpc_address} "
            f"(broker: {app.broker.name}, database: {settings.masked()['database_url']})",
            flush=True,
        )
        await stop_signal.wait()
        print("execution-server stopping: finishing in-flight calls", flush=True)
    finally:
        await app.stop()


