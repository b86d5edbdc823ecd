"""Every metric the service exports, on a registry of its own per application (never
prometheus_client's global one: several servers in one process, as in the tests, would collide).

Names follow Prometheus conventions: the `execution_` prefix, base units (seconds), `_total`
for counters. Label values are bounded sets the code chooses (a method name, a status code, a
reason's category), never free text a caller or a broker wrote. The hot path uses label
children bound once (`child`, cached), so that counting is one lock and one add.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: from a cached GetOrder (~0.2 ms) to a broker that takes seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# The codes a rejection's reason starts with ("MAX_ORDER_QUANTITY: ..."): risk/denials.py's
# checks, the OMS's and the adapters' own. Anything else (a broker's free text) is OTHER.
REJECT_CATEGORIES = frozenset({
    "KILL_SWITCH", "SYMBOL_BLOCKED", "SYMBOL_NOT_ALLOWED", "MAX_ORDER_QUANTITY", "MAX_ORDER_NOTIONAL",
    "PRICE_COLLAR", "NO_REFERENCE_PRICE", "MAX_OPEN_ORDERS", "ORDER_RATE", "MAX_POSITION_QUANTITY",
    "MAX_POSITION_NOTIONAL", "DAILY_LOSS", "DUPLICATE_ORDER", "MAX_GROSS_EXPOSURE", "MAX_NET_EXPOSURE",
    "RISK_ERROR", "BROKER_REJECTED", "BROKER_UNAVAILABLE", "BROKER_STREAM_DOWN", "RATE_LIMITED",
    "NOT_RECEIVED", "MISSING_AT_BROKER",
})
OTHER = "OTHER"
_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,40}(?=: )")


def reject_category(reason: str) -> str:
    """The bounded label for a rejection: the code its reason starts with, if it is one of ours."""
    match = _CODE.match(reason)
    code = match.group(0) if match else OTHER
    return code if code in REJECT_CATEGORIES else OTHER


class ServiceMetrics:
    """The metric objects of one application, and the registry the endpoint serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.rpc_requests = Counter(
            "execution_rpc_requests", "RPCs handled, by method and gRPC status code.", ("method", "code"), registry=r)
        self.rpc_duration = Histogram(
            "execution_rpc_duration_seconds", "Time from a unary RPC's start to its answer (streams: their life).",
            ("method",), buckets=LATENCY_BUCKETS, registry=r)
        self.order_events = Counter(
            "execution_order_events", "Order events committed: placed, submitted, filled, partially_filled, "
            "cancelled, rejected, cancel_requested, repaired.", ("event",), registry=r)
        self.order_rejections = Counter(
            "execution_order_rejections", "Orders rejected, by the category their reason starts with.",
            ("reason",), registry=r)
        self.fills = Counter("execution_fills", "Fills (executions) recorded.", registry=r)
        self.broker_requests = Counter(
            "execution_broker_requests", "Requests to the broker, by kind and outcome.", ("kind", "outcome"), registry=r)
        self.broker_duration = Histogram(
            "execution_broker_request_duration_seconds", "Time the broker took to answer, by kind.",
            ("kind",), buckets=LATENCY_BUCKETS, registry=r)
        self.broker_stream_connected = Gauge(
            "execution_broker_stream_connected", "1 while the broker's event stream is connected.", registry=r)
        self.stream_subscribers = Gauge(
            "execution_stream_subscribers", "Open StreamOrderUpdates and StreamOrderUpdateBatches subscriptions.",
            registry=r)
        self.stream_lag_max = Gauge(
            "execution_stream_reader_lag_max_events",
            "How many events the subscriber furthest behind has yet to be handed.", registry=r)
        self.stream_readers_behind = Gauge(
            "execution_stream_readers_behind", "Subscribers with at least one event not yet handed to them.",
            registry=r)
        self.event_log_sequence = Gauge(
            "execution_event_log_sequence", "The last committed event's sequence number.", registry=r)
        self.writer_batch_size = Histogram(
            "execution_writer_batch_size", "Changes committed together in one transaction.",
            buckets=BATCH_SIZE_BUCKETS, registry=r)
        self.writer_batch_duration = Histogram(
            "execution_writer_batch_duration_seconds", "Time one batch took, from its first statement to its COMMIT.",
            buckets=LATENCY_BUCKETS, registry=r)
        self.reconcile_runs = Counter(
            "execution_reconcile_runs", "Reconciliation runs, by trigger and result (clean, discrepancies, failed: the broker or the store failed it).",
            ("trigger", "result"), registry=r)
        self.reconcile_discrepancies = Counter(
            "execution_reconcile_discrepancies", "Discrepancies reconciliation found, by kind.", ("kind",), registry=r)
        self.kill_switch_engaged = Gauge(
            "execution_kill_switch_engaged", "1 while the kill switch is engaged.", registry=r)
        self.event_loop_lag = Histogram(
            "execution_event_loop_lag_seconds", "How late the event loop ran a timer: its sleep's overshoot.",
            buckets=LOOP_LAG_BUCKETS, registry=r)
        self._children: dict[tuple[object, ...], object] = {}

    def child(self, metric: Counter | Histogram | Gauge, *labels: str):  # type: ignore[no-untyped-def]
        """The labelled child, bound once and kept (`.labels` costs a lock and a dict per call)."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        """The gauge reads its value when scraped: nothing on the hot path."""
        gauge.set_function(read)
