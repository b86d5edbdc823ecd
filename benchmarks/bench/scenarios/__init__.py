"""The scenarios of `make bench`, by name (--only picks among them), in the order they run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from benchmarks.bench.run import Run
from benchmarks.bench.scenarios import observability, reconcile, stalled, startup, streams, unary

SCENARIOS: dict[str, Callable[[Run], Awaitable[None]]] = {
    "bare": unary.bare,
    "place_order": unary.place_order,
    "stream_one": streams.one_subscriber,
    "stream_fanout": streams.fan_out,
    "stalled": stalled.stalled_readers,
    "reconcile": reconcile.reconcile_10k,
    "startup": startup.startup_history,
    "observability": observability.metrics_and_logs,
}
