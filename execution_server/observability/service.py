"""What the application hands the observability: the hooks its parts call (a batch committed,
a run reconciled, order events committed) and the state the gauges read when scraped. With
metrics off (no [metrics] address) nothing is counted and no port is opened; the order log
is a setting of its own."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from execution_server.brokers.base import BrokerClient
from execution_server.domain.events import OrderUpdate
from execution_server.observability.broker_requests import MeasuredBroker
from execution_server.observability.endpoint import MetricsEndpoint, exposure_warning
from execution_server.observability.loop_lag import LoopLagMonitor
from execution_server.observability.metrics import ServiceMetrics
from execution_server.observability.order_events import OrderEvents
from execution_server.observability.order_events import EVENTS
from execution_server.reconcile.compare import DiscrepancyKind, ReconcileReport

log = logging.getLogger(__name__)


class Observability:
    def __init__(self, metrics_address: str | None, *, log_order_events: bool = True) -> None:
        self.address = metrics_address
        self.metrics = ServiceMetrics() if metrics_address is not None else None
        self.order_events = OrderEvents(self.metrics, log_events=log_order_events)
        self.endpoint: MetricsEndpoint | None = None
        self._loop_lag: LoopLagMonitor | None = None
        self._observe_batch: Callable[[int, float], None] | None = None
        if self.metrics is not None:
            _zero_series(self.metrics)
            sizes, durations = self.metrics.writer_batch_size, self.metrics.writer_batch_duration

            def observe_batch(changes: int, seconds: float) -> None:
                sizes.observe(changes)
                durations.observe(seconds)

            self._observe_batch = observe_batch

    @property
    def on_batch(self) -> Callable[[int, float], None] | None:
        """The writer's hook, or None (nothing to call) with metrics off."""
        return self._observe_batch

    def committed(self, updates: Sequence[OrderUpdate]) -> None:
        self.order_events.committed(updates)

    def measured(self, broker: BrokerClient) -> BrokerClient:
        return broker if self.metrics is None else MeasuredBroker(broker, self.metrics)  # type: ignore[return-value]

    def reconciled(self, report: ReconcileReport) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        result = "discrepancies" if report.has_discrepancies else "clean"
        metrics.child(metrics.reconcile_runs, report.trigger, result).inc()
        for discrepancy in report.result.discrepancies:
            metrics.child(metrics.reconcile_discrepancies, discrepancy.kind.name).inc()

    def reconcile_failed(self, trigger: str) -> None:
        """A run that ended in an error (the broker unreachable, the store refusing): no report."""
        if self.metrics is not None:
            self.metrics.child(self.metrics.reconcile_runs, trigger, "failed").inc()

    def watch(
        self, *, subscribers: Callable[[], int], reader_lag: Callable[[], tuple[int, int]],
        sequence: Callable[[], int], stream_connected: Callable[[], bool], kill_switch: Callable[[], bool],
    ) -> None:
        """The gauges, read at each scrape from the live objects."""
        metrics = self.metrics
        if metrics is None:
            return
        metrics.watch(metrics.stream_subscribers, subscribers)
        metrics.watch(metrics.stream_lag_max, lambda: reader_lag()[0])
        metrics.watch(metrics.stream_readers_behind, lambda: reader_lag()[1])
        metrics.watch(metrics.event_log_sequence, sequence)
        metrics.watch(metrics.broker_stream_connected, lambda: 1.0 if stream_connected() else 0.0)
        metrics.watch(metrics.kill_switch_engaged, lambda: 1.0 if kill_switch() else 0.0)

    def start(self) -> int | None:
        """The endpoint and the loop-lag timer; the endpoint's port, or None with metrics off."""
        if self.metrics is None or self.address is None:
            return None
        self.endpoint = MetricsEndpoint(self.address, self.metrics.registry)
        port = self.endpoint.start()
        self._loop_lag = LoopLagMonitor(self.metrics.event_loop_lag.observe)
        self._loop_lag.start()
        warning = exposure_warning(self.address)
        if warning:
            log.warning(warning)
        log.info("metrics on %s", self.endpoint.url)
        return port

    async def stop(self) -> None:
        if self._loop_lag is not None:
            await self._loop_lag.stop()
        if self.endpoint is not None:
            await self.endpoint.stop()


def _zero_series(metrics: ServiceMetrics) -> None:
    """Every event and discrepancy kind exported from the start, at 0: a rate() over a series
    that appears only with its first increment misses that increment, and a dashboard shows
    "no data" where it means none."""
    for event in {*EVENTS.values(), "filled", "partially_filled"}:
        metrics.child(metrics.order_events, event)
    for kind in DiscrepancyKind:
        metrics.child(metrics.reconcile_discrepancies, kind.name)
