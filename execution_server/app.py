"""The composition root: builds everything, wires it, and owns the start and stop order.

Start: database (migrate) → writer → load open orders, positions, kill switch → broker →
recovery → event consumer → start-up reconciliation → gRPC SERVING.
Stop: NOT_SERVING and stop accepting → streams end (UNAVAILABLE) → in-flight calls finish →
background tasks → writer drains → broker → database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.api.authentication import AuthInterceptor
from execution_server.api.metrics_interceptor import MetricsInterceptor
from execution_server.api.convert import encode_update
from execution_server.api.risk_servicer import RiskServicer
from execution_server.api.server import EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE, GrpcServer
from execution_server.api.servicer import ExecutionServicer
from execution_server.api.simulator_servicer import SimulatorServicer
from execution_server.api.tls import CertificateFiles
from execution_server.audit.trail import AuditTrail
from execution_server.auth.open_access import check_open_access
from execution_server.auth.registry import TokenRegistry
from execution_server.auth.tokens import parse_auth
from execution_server.brokers.base import BrokerClient
from execution_server.brokers.factory import build_broker
from execution_server.brokers.simulated import SimulatedBroker
from execution_server.brokers.simulated.session_close import SessionCloseTimer
from execution_server.collector import tune_collector
from execution_server.config import Settings
from execution_server.config_transport import plaintext_warning
from execution_server.domain.events import OrderUpdate
from execution_server.domain.orders import InvalidFill, InvalidTransition
from execution_server.oms.errors import ClientOrderIdConflict, OrderNotCancellable, OrderNotFound
from execution_server.domain.positions import Position
from execution_server.events.db_log import DatabaseLog
from execution_server.events.fanout import Fanout
from execution_server.events.log import LogEntry
from execution_server.events.retention import LogRetention
from execution_server.heap_trim import HeapTrim, malloc_trim
from execution_server.oms.broker_events import BrokerEventApplier
from execution_server.oms.event_consumer import BrokerEventConsumer
from execution_server.oms.fills import ACCOUNT, FillRecorder
from execution_server.oms.lifecycle import OrderLifecycle
from execution_server.oms.recovery import Recovery
from execution_server.oms.service import OrderService
from execution_server.oms.state import OpenOrders
from execution_server.observability.service import Observability
from execution_server.positions.tracker import PositionBook
from execution_server.reconcile.runner import ReconcileRunner
from execution_server.risk.control import RiskControl
from execution_server.store import repository
from execution_server.store.database import create_engine
from execution_server.store.migrate import is_at_head, upgrade_to_head
from execution_server.store.reads import read_connection
from execution_server.store.wal_checkpoint import WalCheckpoint
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

# What an operation raises, by design, before it writes anything: it fails only its caller.
REFUSALS: tuple[type[Exception], ...] = (
    InvalidTransition, InvalidFill, ClientOrderIdConflict, OrderNotFound, OrderNotCancellable,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Application:
    """One running service. `start()` returns once it is SERVING; `stop()` is idempotent."""

    def __init__(self, settings: Settings, broker: BrokerClient | None = None) -> None:
        self.settings = settings
        # SQLite's WAL is checkpointed by a task of its own, not by the COMMIT that fills it (store/wal_checkpoint.py).
        self.engine: AsyncEngine = create_engine(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous, sqlite_autocheckpoint=False
        )
        self.broker: BrokerClient = broker or build_broker(settings)
        self.open_orders = OpenOrders()
        self.book = PositionBook()
        self.observability = Observability(settings.metrics.address, log_order_events=settings.log_order_events)
        self.metrics_port: int | None = None
        self._started = False
        self._health_updates: set[asyncio.Task[None]] = set()
        # What stop() must release, in the order it came to be; stop() releases it in reverse,
        # so a start that failed half-way releases exactly what it had made, and nothing twice.
        self._to_release: list[Callable[[], Awaitable[object]]] = [self.engine.dispose, self.broker.close]

    async def start(self) -> int:
        settings = self.settings
        self.tokens = TokenRegistry(parse_auth(settings.auth))
        if self.tokens.is_open:
            check_open_access(settings.grpc_address, settings.trading_mode)  # a ConfigError, before anything is made
        # Read (and refused, a ConfigError) before anything is made.
        certificates = CertificateFiles(settings.tls) if settings.tls.enabled else None
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
            on_batch=self.observability.on_batch,
        )
        self._to_release.append(self.writer.stop)
        self.audit = AuditTrail(self.writer, self.engine)
        self.risk = RiskControl(
            settings=settings,
            reference_price=self.broker.reference_price,
            writer=self.writer,
            stored_kill_switch=kill_switch,
        )
        self._to_release.append(self.risk.stop)
        self._load(open_orders, executions, positions)
        # The broker as the OMS, recovery and reconciliation call it: its requests counted and timed.
        requests = self.observability.measured(self.broker)

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
            broker=requests, open_orders=self.open_orders, applier=self.applier,
            settle_attempts=settings.settle_attempts,
        )
        self._to_release.append(self.recovery.stop)
        self.orders = OrderService(
            writer=self.writer,
            reader=lambda: read_connection(self.engine),
            open_orders=self.open_orders,
            broker=requests,
            risk=self.risk.manager,
            portfolio=self.risk.portfolio,
            lifecycle=self.lifecycle,
            look_up_later=self.recovery.look_up_later,
            cancel_wait_seconds=settings.cancel_wait_seconds,
            submit_timeout_seconds=settings.submit_timeout_seconds,
            stream_up=(lambda: self.consumer.stream_up) if settings.reject_orders_while_stream_down else None,
        )
        self.risk.bind_orders(self.orders)
        if settings.sqlite_synchronous == "NORMAL":
            # One order at a time: no batch to join, so SQLite's batches may run on the loop. Not
            # with FULL, whose every COMMIT waits for the disk: that wait stays off the loop.
            orders = self.orders
            self.writer.writes_alone = lambda: orders.alone
        self.consumer = BrokerEventConsumer(
            self.broker,
            self.applier,
            on_reconnect=lambda: self.reconciler.trigger_soon("reconnect", settings.reconcile.auto_repair),
            on_degraded=self._refresh_health,
            on_stream=self._refresh_health,
            on_recovered=lambda: self.reconciler.trigger_soon("store recovered", settings.reconcile.auto_repair),
            on_refused=self._unexplained,
        )
        self._to_release.append(self.consumer.stop)
        self.reconciler = ReconcileRunner(
            broker=requests,
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
            on_report=self.observability.reconciled,
            on_failure=self.observability.reconcile_failed,
        )
        self._to_release.append(self.reconciler.stop)
        background = self._background_tasks()
        self._to_release.extend(part.stop for part in background)
        services: dict = {
            EXECUTION_SERVICE: ExecutionServicer(
                self.orders, self.book, self.reconciler, self.fanout, self.broker.account,
                batch_interval=settings.stream.batch_interval_seconds,
                catch_up_send_slots=settings.stream.catch_up_send_slots,
                catch_up_share=settings.stream.catch_up_share,
            ),
            RISK_SERVICE: RiskServicer(self.risk, self.audit),
        }
        if self.broker.name == "simulated":
            services[SIMULATOR_SERVICE] = SimulatorServicer(self.broker, self.audit)
        self.server = GrpcServer(
            settings.grpc_address, services, keepalive_seconds=settings.keepalive_seconds,
            interceptors=[AuthInterceptor(self.tokens)], reflection=settings.reflection,
            limits=settings.limits, certificates=certificates,
            outer_interceptors=[MetricsInterceptor(self.observability.metrics)] if self.observability.metrics else (),
        )
        self._to_release.append(lambda: self.server.stop(settings.grace_seconds))
        self._to_release.append(self._finish_health_updates)  # before the server stops
        # Released before the server: streams end (UNAVAILABLE) so that its grace period waits
        # only for the unary calls in flight.
        self._to_release.append(self._close_fanout)

        self.observability.watch(
            subscribers=lambda: self.fanout.subscriber_count, reader_lag=self.fanout.reader_lag,
            sequence=lambda: self.fanout.high_water_mark, stream_connected=lambda: self.consumer.stream_up,
            kill_switch=lambda: self.risk.manager.kill_switch.engaged,
        )
        self.metrics_port = self.observability.start()  # an OSError if its address is taken
        self._to_release.append(self.observability.stop)
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
        for part in background:
            part.start()
        await self.server.set_serving()
        self._started = True
        self._refresh_health()  # the broker's stream may be down already
        if self.tokens.is_open:
            log.warning("access is open: no [auth] tokens, every caller on %s may do anything", settings.grpc_address)
        warning = plaintext_warning(settings.grpc_address, settings.tls)
        if warning:
            log.warning(warning)
        log.info(
            "serving execution.v1.ExecutionService on %s (port %d, %s), broker %s, database %s",
            settings.grpc_address, self.port, settings.tls.mode, self._broker_description(),
            settings.masked()["database_url"],
        )
        return self.port

    def reload(self) -> None:
        """SIGHUP: the risk limits and the tokens, each kept as it is if its table does not parse."""
        self.risk.reload_limits()
        self.tokens.reload(self.settings.config_path)

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
        self.observability.committed(updates)  # the order log and counts: what was committed

    def _background_tasks(self) -> list[LogRetention | SessionCloseTimer | HeapTrim | WalCheckpoint]:
        """The timers that run once the service serves: log retention, memory given back after
        streams close (where the C library can), SQLite's WAL checkpoints, and, on the
        simulated broker, its market's daily close."""
        parts: list[LogRetention | SessionCloseTimer | HeapTrim | WalCheckpoint] = []
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            parts.append(WalCheckpoint(database, lambda: self.writer.last_sequence))
        trim = malloc_trim()
        if trim is not None:
            parts.append(HeapTrim(lambda: self.fanout.subscriber_count, trim))
        close = self.settings.simulator.session_close_utc
        if close is not None and isinstance(self.broker, SimulatedBroker):
            parts.append(SessionCloseTimer(self.broker, close, utc_now))
        if self.settings.stream.retention_events is not None:
            parts.append(LogRetention(self.writer, self.settings.stream.retention_events))
        return parts

    async def _close_fanout(self) -> None:
        self.fanout.close()

    def _refresh_health(self, _changed: bool = False) -> None:
        """Broker events waiting on the store, or the broker's stream up or down: the health
        service says so (api/server.py set_health), from the state when the update runs."""
        if not self._started:
            return

        async def apply() -> None:
            await self.server.set_health(
                store_current=not self.consumer.degraded, broker_events_current=self.consumer.stream_up
            )

        task = asyncio.create_task(apply())
        self._health_updates.add(task)
        task.add_done_callback(self._health_updates.discard)

    def _broker_description(self) -> str:
        # A broker handed in (a test's fake) is named by itself; the configured one by the settings.
        configured = self.broker.name == self.settings.broker
        return self.settings.broker_description() if configured else self.broker.name

    async def _finish_health_updates(self) -> None:
        await asyncio.gather(*self._health_updates, return_exceptions=True)

    def _unexplained(self, what: str) -> None:
        log.warning("unexplained broker event (%s); reconciling", what)
        if self._started:
            self.reconciler.trigger_soon("unexplained", self.settings.reconcile.auto_repair)

    async def stop(self) -> None:
        """Release everything start() made, newest first. Idempotent, and safe after a start
        that failed half-way: only what was made is on the list. A part that fails to stop is
        logged and the others are still released."""
        while self._to_release:
            release = self._to_release.pop()
            try:
                await release()
            except Exception:
                log.exception("stopping the service: releasing %r failed", release)


async def serve(settings: Settings, stop_signal: asyncio.Event) -> None:
    app = Application(settings)
    try:
        await app.start()
        tune_collector()
        # SIGHUP re-reads the risk limits and the tokens; a table that does not parse leaves the old in force.
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, app.reload)
        print(
            f"execution-server listening on {settings.grpc_address} "
            f"({settings.tls.mode}, broker: {app._broker_description()}, database: {settings.masked()['database_url']})",
            flush=True,
        )
        if app.observability.endpoint is not None:
            print(f"execution-server metrics on {app.observability.endpoint.url}", flush=True)
        await stop_signal.wait()
        print("execution-server stopping: finishing in-flight calls", flush=True)
    finally:
        await app.stop()


