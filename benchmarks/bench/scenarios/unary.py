"""The bare unary baseline, and PlaceOrder of marketable orders at concurrency 1 and 50 on each
database, with the same closed-loop load generator."""

from __future__ import annotations

from contextlib import AsyncExitStack

from benchmarks.bench import servers
from benchmarks.bench.figures import Figure
from benchmarks.bench.load import Result
from benchmarks.bench.messages import PLACE_ORDER, pb, place_order_request
from benchmarks.bench.run import Run, database_url

CONCURRENCIES = (1, 50)
# Issue 22's targets, as ratios to the bare unary call of the same run.
THROUGHPUT_TARGET = {"sqlite": "ratio >= 0.5", "postgresql": "ratio >= 0.35"}
P50_TARGET = "ratio <= 3"

# Buy and sell in turn: positions stay flat, so no risk limit is ever reached.
REQUESTS = [place_order_request(side).SerializeToString() for side in (pb.SIDE_BUY, pb.SIDE_SELL)]


def latency_figures(run: Run, scenario: str, result: Result, baseline: Result | None = None, **targets: str) -> None:
    for name, unit in (("calls_per_second", "calls/s"), ("p50_ms", "ms"), ("p99_ms", "ms"), ("p999_ms", "ms")):
        label = {"calls_per_second": "rate", "p50_ms": "p50", "p99_ms": "p99", "p999_ms": "p99.9"}[name]
        run.add(Figure(
            scenario, label, getattr(result, name), unit,
            baseline=getattr(baseline, name) if baseline else None, baseline_name="bare unary" if baseline else "",
            target=targets.get(name, ""),
        ))


async def bare(run: Run) -> None:
    for concurrency in CONCURRENCIES:
        result = await run.bare_unary(concurrency)
        latency_figures(run, f"bare unary c{concurrency}", result)
        if result.server_cpu_ms_per_call is not None:
            run.add(Figure(f"bare unary c{concurrency}", "server CPU per call", result.server_cpu_ms_per_call, "ms"))


async def place_order(run: Run) -> None:
    """One server per database, c1 then c50 against it."""
    for database in run.databases:
        async with AsyncExitStack() as stack:
            url = await database_url(stack, database)
            server = await stack.enter_async_context(servers.execution_server(url))
            for concurrency in CONCURRENCIES:
                baseline = await run.bare_unary(concurrency)
                result = await run.load.closed_loop(
                    server.address, PLACE_ORDER, REQUESTS, concurrency, run.seconds, run.warm_up, server.pid)
                _record(run, database, concurrency, result, baseline)


def _record(run: Run, database: str, concurrency: int, result: Result, baseline: Result) -> None:
    name = f"PlaceOrder {database} c{concurrency}"
    run.details[name] = result.as_dict()
    targets = {"calls_per_second": THROUGHPUT_TARGET[database]} if concurrency == 50 else {"p50_ms": P50_TARGET}
    latency_figures(run, name, result, baseline, **targets)
    if result.server_cpu_ms_per_call is not None and baseline.server_cpu_ms_per_call:
        # Where the time goes: the server's CPU per order against the bare server's per call.
        run.add(Figure(name, "server CPU per call", result.server_cpu_ms_per_call, "ms",
                       baseline=baseline.server_cpu_ms_per_call, baseline_name="bare unary"))
    if result.failed:
        run.add(Figure(name, "failed calls", result.failed, "calls", note="should be 0"))
