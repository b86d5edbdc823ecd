"""What metrics and the per-order JSON log cost PlaceOrder: c50 on SQLite with both on (metrics
scraped every second, the JSON order log at INFO to a file) against both off, the settings of
benchmarks/observability_cost.py (its VARIANTS["observability"]). Runs alternate off, on, on,
off, off, on (--quick: off, on), each on a fresh server; the ratio is of the medians. Target
(issue 22): under 5% of throughput. The server's CPU per order is recorded beside it: on this
shared machine the rate of a single run moves by more than 5%, its CPU per order by less."""

from __future__ import annotations

import statistics
import threading

from benchmarks.bench import servers
from benchmarks.bench.figures import Figure
from benchmarks.bench.messages import PLACE_ORDER
from benchmarks.bench.run import Run
from benchmarks.bench.scenarios.unary import REQUESTS
from benchmarks.observability_cost import VARIANTS, scraper

CONCURRENCY = 50


async def metrics_and_logs(run: Run) -> None:
    variants = VARIANTS["observability"]
    order = ["off", "on"] if run.quick else ["off", "on", "on", "off", "off", "on"]
    rates: dict[str, list[float]] = {"off": [], "on": []}
    p50s: dict[str, list[float]] = {"off": [], "on": []}
    cpus: dict[str, list[float]] = {"off": [], "on": []}
    for name in order:
        async with servers.execution_server(None, variants[name], log_level="INFO") as server:
            stop = threading.Event()
            scraping = None
            if server.metrics_port:
                scraping = threading.Thread(target=scraper, args=(server.metrics_port, stop), daemon=True)
                scraping.start()
            try:
                result = await run.load.closed_loop(
                    server.address, PLACE_ORDER, REQUESTS, CONCURRENCY, run.seconds, run.warm_up, server.pid)
            finally:
                stop.set()
                if scraping is not None:
                    scraping.join()
        rates[name].append(result.calls_per_second)
        p50s[name].append(result.p50_ms)
        if result.server_cpu_ms_per_call is not None:
            cpus[name].append(result.server_cpu_ms_per_call)
    run.details["observability"] = {"order": order, "rates": rates, "p50_ms": p50s, "server_cpu_ms_per_order": cpus}
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    scenario = "PlaceOrder sqlite c50, metrics + JSON order log"
    run.add(Figure(scenario, "rate, on", on, "calls/s", baseline=off, baseline_name="both off", target="ratio >= 0.95",
                   note=f"runs {order}"))
    run.add(Figure(scenario, "p50, on", statistics.median(p50s["on"]), "ms",
                   baseline=statistics.median(p50s["off"]), baseline_name="both off"))
    if cpus["on"] and cpus["off"]:
        run.add(Figure(scenario, "server CPU per order, on", statistics.median(cpus["on"]), "ms",
                       baseline=statistics.median(cpus["off"]), baseline_name="both off", target="ratio <= 1.05"))
