"""What observability and durability cost PlaceOrder: throughput with a setting on and off,
runs alternating side by side (the machine is noisy: each ratio compares neighbours).

    .venv/bin/python benchmarks/observability_cost.py --compare observability [--seconds 8] [--repeat 4] [--concurrency 50]
    .venv/bin/python benchmarks/observability_cost.py --compare synchronous   [--seconds 8] [--repeat 4]
    .venv/bin/python benchmarks/observability_cost.py --compare metrics|order_log  (each half of "observability" alone)

observability: "on" is metrics on a port (scraped every second, as an eager Prometheus would)
and the JSON order log at INFO, one line per order event, written to a file; "off" is neither
(the text log at INFO to the same kind of file, which has no per-order lines). synchronous:
SQLite with PRAGMA synchronous=NORMAL against FULL, everything else equal.

Each run starts the real Application (simulated broker, market orders that fill at once) on a
fresh SQLite database and sends PlaceOrder closed loop from a client process of its own:
`concurrency` calls always in flight for `seconds`, after a one-second warm-up. Besides the
throughput, each run prints the server process's CPU time per order (every thread): less
disturbed than throughput when other work shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).parent))
from stream_grpc import settings_for  # noqa: E402  (a sibling script)

from execution.v1 import execution_pb2 as pb  # noqa: E402
from execution.v1 import execution_pb2_grpc  # noqa: E402
from execution_server.app import Application, tune_collector  # noqa: E402
from execution_server.config import MetricsConfig, replace  # noqa: E402
from execution_server.observability.logs import configure_logging  # noqa: E402


def closed_loop(address: str, concurrency: int, seconds: float, warm_up: float = 1.0) -> dict[str, Any]:
    """`concurrency` PlaceOrder calls in flight at all times; the replies counted after the warm-up."""

    async def run() -> dict[str, Any]:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            sides = itertools.cycle((pb.SIDE_BUY, pb.SIDE_SELL))  # positions stay flat
            start = time.perf_counter()
            counting_from, end = start + warm_up, start + warm_up + seconds
            counted = failed = answered = 0

            async def worker() -> None:
                nonlocal counted, failed, answered
                while (now := time.perf_counter()) < end:
                    request = pb.PlaceOrderRequest(strategy_id="bench", symbol="AAPL", side=next(sides), quantity="1",
                                                   order_type=pb.ORDER_TYPE_MARKET)
                    try:
                        await stub.PlaceOrder(request)
                    except grpc.aio.AioRpcError:
                        failed += 1
                        continue
                    answered += 1
                    if now >= counting_from:
                        counted += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return {"orders_per_second": counted / seconds, "failed": failed, "answered": answered}

    return asyncio.run(run())


def scraper(port: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            response.read()


VARIANTS = {
    "observability": {
        "off": {"metrics": MetricsConfig(), "log_order_events": False, "log_format": "text"},
        "on": {"metrics": MetricsConfig(address="127.0.0.1:0"), "log_order_events": True, "log_format": "json"},
    },
    # The two halves of "observability", each alone: which one costs what.
    "metrics": {
        "off": {"metrics": MetricsConfig(), "log_order_events": False, "log_format": "text"},
        "on": {"metrics": MetricsConfig(address="127.0.0.1:0"), "log_order_events": False, "log_format": "text"},
    },
    "order_log": {
        "off": {"metrics": MetricsConfig(), "log_order_events": False, "log_format": "json"},
        "on": {"metrics": MetricsConfig(), "log_order_events": True, "log_format": "json"},
    },
    "synchronous": {
        "NORMAL": {"sqlite_synchronous": "NORMAL"},
        "FULL": {"sqlite_synchronous": "FULL"},
    },
}


async def one_run(
    pool: ProcessPoolExecutor, root: Path, changes: dict[str, Any], args: argparse.Namespace
) -> tuple[float, float]:
    """Orders per second, and this (the server's) process's CPU seconds per order answered."""
    base = settings_for(f"sqlite+aiosqlite:///{root / 'execution.db'}", root, 10_000)
    settings = replace(base, **changes)
    log = (root / "server.log").open("w")
    configure_logging("INFO", settings.log_format, log)
    app = Application(settings)
    await app.start()
    tune_collector()  # as `execution-server serve` does
    stop = threading.Event()
    scraping = None
    if app.metrics_port:
        scraping = threading.Thread(target=scraper, args=(app.metrics_port, stop), daemon=True)
        scraping.start()
    cpu = time.process_time()
    try:
        result = await asyncio.get_running_loop().run_in_executor(
            pool, closed_loop, f"127.0.0.1:{app.port}", args.concurrency, args.seconds)
        cpu = (time.process_time() - cpu) / max(1, result["answered"])
    finally:
        stop.set()
        if scraping is not None:
            scraping.join()
        await app.stop()
        log.close()
    if result["failed"]:
        print(f"  ({result['failed']} calls failed)")
    return result["orders_per_second"], cpu


async def main(args: argparse.Namespace) -> None:
    variants = VARIANTS[args.compare]
    figures: dict[str, list[float]] = {name: [] for name in variants}
    cpus: dict[str, list[float]] = {name: [] for name in variants}
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, time.sleep, 0.5)  # start the worker
        for repeat in range(args.repeat):
            order = list(variants) if repeat % 2 == 0 else list(reversed(variants))  # ABBA: drift cancels
            for name in order:
                with tempfile.TemporaryDirectory(prefix="observability-cost-") as directory:
                    rate, cpu = await one_run(pool, Path(directory), variants[name], args)
                figures[name].append(rate)
                cpus[name].append(cpu)
                print(f"run {repeat + 1} {name:<7} {rate:>7,.0f} orders/s  server CPU {cpu * 1e6:>5,.0f} µs per order",
                      flush=True)
    first, second = variants
    ratios = [b / a for a, b in zip(figures[first], figures[second], strict=True)]
    for name, rates in figures.items():
        print(f"{name:<7} median {statistics.median(rates):>7,.0f} orders/s  runs {', '.join(f'{r:,.0f}' for r in rates)}")
    print(f"{second} / {first} throughput: median {statistics.median(ratios):.3f} (runs {', '.join(f'{r:.3f}' for r in ratios)})")
    cpu_ratios = [b / a for a, b in zip(cpus[first], cpus[second], strict=True)]
    print(f"{second} / {first} server CPU per order: median {statistics.median(cpu_ratios):.3f} "
          f"(medians {statistics.median(cpus[first]) * 1e6:,.0f} and {statistics.median(cpus[second]) * 1e6:,.0f} µs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", choices=sorted(VARIANTS), default="observability")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
