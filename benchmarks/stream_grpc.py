"""StreamOrderUpdates through gRPC, measured against a bare grpc.aio stream on the same machine.

    .venv/bin/python benchmarks/stream_grpc.py [--updates 50000] [--repeat 3] [--subscribers 100]
        [--rates 1000[,200,...]] [--seconds 5] [--stream updates|batches|both] [--window-size 10000]
        [--batch-interval SECONDS] [--filtered]
        [--database-url URL]

Every client runs in a process of its own (multiprocessing, spawn); the servers run in this one.
The machine is shared and noisy, so each service run in (b) is paired with a bare run (a) just
before it, and the verdict is the median of the pairs' ratios (target >= 0.8).
  (a) bare      a grpc.aio server whose handler yields the same pre-serialised bytes over and
                over (a real StreamOrderUpdatesResponse, of typical size); one client drains it
  (b) service   one subscriber of the real Application, `--updates` each:
                  replay from the log     updates already in the log; the server has just
                                          restarted, so its window is empty and every one is
                                          read from the log table, in pages
                  live, writer flat out   subscribed at the live edge while the real
                                          group-commit writer commits copies of real updates,
                                          100 per transaction, as fast as it can (same
                                          process) until the subscriber has its updates;
                                          its bare run is made under the same writer load,
                                          so the pair compares delivery paths
                  replay from the window  updates all in the window (run with a window of at
                                          least `--updates`): the delivery path of a
                                          subscriber that keeps up
                  batches                 StreamOrderUpdateBatches from the window: updates
                                          per second against the bare stream's messages
  (c) latency   `--subscribers` streams in one client process; a second process places market
                orders through PlaceOrder, open loop, at each of `--rates` per second for
                `--seconds` (a fresh database each); the delay of each update is its arrival
                time minus the time its transaction committed (recorded in this process as
                the writer hands the entries to the fan-out; both processes read the same
                clock). Target p99 < 50 ms. Also printed: the delay from the transaction's
                start (StreamOrderUpdatesResponse.time), which adds the writer's batch time. `--stream` picks
                StreamOrderUpdates (one update per message), StreamOrderUpdateBatches
                (every update ready per message), or both in turn. By default every
                subscriber follows every update (100 x the updates: the worst case); with
                `--filtered` each follows a strategy of its own, as strategies do, and the
                orders go round those strategies.

Clients use an identity deserializer: for throughput they count messages and parse only the
last one; for latency they stamp each message's arrival and parse it after the run. Both sides' CPU use is printed: on a small
machine a Python gRPC client is often the bottleneck, not the server.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import gc
import itertools
import logging
import os
import statistics
import tempfile
import time
from array import array
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import grpc

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution_server.api.convert import encode_update
from execution_server.app import Application, tune_collector
from execution_server.config import ReconcileConfig, Settings, SimulatorConfig, StreamConfig
from execution_server.domain.events import OrderUpdate
from execution_server.store import bulk, repository
from execution_server.store.transaction import Transaction

STREAM_METHOD = "/execution.v1.ExecutionService/StreamOrderUpdates"
BARE_METHOD = "/bench.Bare/Stream"
LIVE_BATCH = 100  # updates per writer transaction in the live phase
END_STRATEGY = "bench-end"


def _identity(payload: bytes) -> bytes:
    return payload


# --- clients (each runs in a process of its own) ---


def drain(address: str, method: str, request: bytes, count: int) -> dict[str, Any]:
    """Read `count` messages of one server stream as raw bytes; the rate from the call's start."""

    async def run() -> dict[str, Any]:
        async with grpc.aio.insecure_channel(address) as channel:
            call = channel.unary_stream(method, request_serializer=_identity, response_deserializer=_identity)(request)
            cpu, start = time.process_time(), time.perf_counter()
            received, last = 0, b""
            async for last in call:
                received += 1
                if received == count:
                    break
            seconds = time.perf_counter() - start
            call.cancel()
        return {"count": received, "seconds": seconds, "cpu": (time.process_time() - cpu) / seconds, "last": last}

    return asyncio.run(run())


def drain_batches(address: str, request: bytes, count: int) -> dict[str, Any]:
    """Read StreamOrderUpdateBatches until `count` updates have arrived; `last` is the last update."""

    async def run() -> dict[str, Any]:
        async with grpc.aio.insecure_channel(address) as channel:
            method = "/execution.v1.ExecutionService/StreamOrderUpdateBatches"
            call = channel.unary_stream(method, request_serializer=_identity, response_deserializer=_identity)(request)
            cpu, start = time.process_time(), time.perf_counter()
            received, messages, last = 0, 0, b""
            async for message in call:
                updates = pb.StreamOrderUpdateBatchesResponse.FromString(message).updates
                received += len(updates)
                messages += 1
                if received >= count:
                    last = updates[len(updates) - 1 - (received - count)].SerializeToString()
                    break
            seconds = time.perf_counter() - start
            call.cancel()
        return {
            "count": count, "messages": messages, "seconds": seconds,
            "cpu": (time.process_time() - cpu) / seconds, "last": last,
        }

    return asyncio.run(run())


def subscribe_and_time(address: str, subscribers: int, after: int, batches: bool, filtered: bool) -> dict[str, Any]:
    """`subscribers` streams from `after` until each sees the end order's fill. Returns, per
    delivery, its sequence and arrival time (the server joins them with commit times), and the
    delay from the writer's transaction start (StreamOrderUpdatesResponse.time) in ms.
    With `batches`, StreamOrderUpdateBatches (every update of each message is timed). With
    `filtered`, subscriber i follows only strategy_of(i); otherwise every one sees everything.

    While the streams run, a message is only stamped with its arrival time and kept as bytes;
    it is parsed after the run. Parsing 100 subscribers' updates as they arrive would cost this
    client as much CPU as the server spends sending them, on the same two cores, and that is
    the measuring instrument's load, not the service's."""
    method = "StreamOrderUpdateBatches" if batches else "StreamOrderUpdates"
    request_type = pb.StreamOrderUpdateBatchesRequest if batches else pb.StreamOrderUpdatesRequest
    requests = [
        request_type(after_sequence=after, strategy_id=strategy_of(i) if filtered else "").SerializeToString()
        for i in range(subscribers)
    ]
    end_mark = END_STRATEGY.encode()

    def updates_of(message: bytes) -> Sequence[pb.StreamOrderUpdatesResponse]:
        if batches:
            return pb.StreamOrderUpdateBatchesResponse.FromString(message).updates
        return [pb.StreamOrderUpdatesResponse.FromString(message)]

    def is_end(update: pb.StreamOrderUpdatesResponse) -> bool:
        return update.event_type == "fill" and (
            update.order.strategy_id == END_STRATEGY or update.order.client_order_id.startswith(END_STRATEGY)
        )

    async def one(channel: grpc.aio.Channel, request: bytes, arrivals: list[tuple[float, bytes]]) -> None:
        call = channel.unary_stream(
            f"/execution.v1.ExecutionService/{method}", request_serializer=_identity, response_deserializer=_identity
        )(request)
        async for message in call:
            arrivals.append((time.time(), message))
            if end_mark in message and any(is_end(update) for update in updates_of(message)):
                call.cancel()
                return
        raise RuntimeError("stream ended early")

    async def run() -> dict[str, Any]:
        # The arrivals recorded here grow by the hundred thousand: the collector's full passes
        # over them would stall this client and be measured as the server's delay.
        gc.disable()
        arrivals: list[list[tuple[float, bytes]]] = [[] for _ in range(subscribers)]
        async with grpc.aio.insecure_channel(address) as channel:
            cpu, start = time.process_time(), time.perf_counter()
            await asyncio.gather(*(one(channel, request, mine) for request, mine in zip(requests, arrivals, strict=True)))
            seconds = time.perf_counter() - start
            cpu = (time.process_time() - cpu) / seconds
        sequences, times, from_begin, counts = array("q"), array("d"), [], set()
        for mine in arrivals:
            received = 0
            for at, message in mine:
                for update in updates_of(message):
                    sequences.append(update.sequence)
                    times.append(at)
                    from_begin.append((at - (update.time.seconds + update.time.nanos / 1e9)) * 1000)
                    received += 1
                    if is_end(update):
                        break
            counts.add(received)
        from_begin.sort()
        return {
            "received": len(sequences),
            "messages": sum(len(mine) for mine in arrivals),
            "per_subscriber": sorted(counts),
            "sequences": sequences,
            "arrivals": times,
            "from_begin": from_begin,
            "cpu": cpu,
        }

    return asyncio.run(run())


def commit_delays(result: dict[str, Any], commits: list[tuple[int, float]]) -> list[float]:
    """Each delivery's delay in ms from the commit that published its sequence: `commits` holds
    (last sequence published, time) per commit, ascending."""
    lasts = [last for last, _ in commits]
    delays = []
    for sequence, at in zip(result["sequences"], result["arrivals"], strict=True):
        delays.append((at - commits[bisect.bisect_left(lasts, sequence)][1]) * 1000)
    delays.sort()
    return delays


def strategy_of(index: int) -> str:
    return f"bench-{index}"


def place_orders(address: str, rate: float, seconds: float, strategies: int = 0) -> dict[str, Any]:
    """Open loop: PlaceOrder calls started at `rate` per second whatever the replies, then the
    end order once every reply is in. With `strategies`, the orders go round strategy_of(0..n-1)
    and each of them gets an end order of its own (client order id END_STRATEGY-i)."""

    async def run() -> dict[str, Any]:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            sides = itertools.cycle((pb.SIDE_BUY, pb.SIDE_SELL))  # positions stay flat
            total = int(rate * seconds)
            calls = []
            cpu, start = time.process_time(), time.perf_counter()
            for i in range(total):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                request = pb.PlaceOrderRequest(
                    strategy_id=strategy_of(i % strategies) if strategies else "bench", symbol="AAPL",
                    side=next(sides), quantity="1", order_type=pb.ORDER_TYPE_MARKET,
                )
                calls.append(asyncio.ensure_future(stub.PlaceOrder(request)))
            issued = time.perf_counter() - start
            replies = await asyncio.gather(*calls, return_exceptions=True)
            answered = time.perf_counter() - start
            cpu = (time.process_time() - cpu) / answered
            ends = [(strategy_of(i), f"{END_STRATEGY}-{i}") for i in range(strategies)] or [(END_STRATEGY, "")]
            await asyncio.gather(*(
                stub.PlaceOrder(pb.PlaceOrderRequest(
                    strategy_id=strategy_id, client_order_id=client_order_id, symbol="AAPL", side=pb.SIDE_BUY,
                    quantity="1", order_type=pb.ORDER_TYPE_MARKET,
                ))
                for strategy_id, client_order_id in ends
            ))
        failed = [reply for reply in replies if isinstance(reply, BaseException)]
        errors = sorted({f"{e.code().name}: {e.details()}" if isinstance(e, grpc.aio.AioRpcError) else repr(e) for e in failed})
        rejected = [r for r in replies if not isinstance(r, BaseException) and r.order.status == pb.ORDER_STATUS_REJECTED]
        return {
            "placed": total - len(failed),
            "failed": len(failed),
            "errors": errors[:3],
            "rejected": len(rejected),
            "issued_per_second": total / issued,
            "answered_per_second": total / answered,
            "cpu": cpu,
        }

    return asyncio.run(run())


def percentile(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# --- the servers (this process) ---


# Thousands of orders a second from one strategy, past the safe default of 500: set explicitly.
BENCHMARK_RISK = {"max_orders_per_second": 100_000, "order_burst": 100_000}


def settings_for(database_url: str, directory: Path, window_size: int, batch_interval: float | None = None) -> Settings:
    stream = StreamConfig(window_size=window_size)
    if batch_interval is not None:
        stream = dataclasses.replace(stream, batch_interval_seconds=batch_interval)
    return Settings(
        grpc_address="127.0.0.1:0",
        database_url=database_url,
        simulator=SimulatorConfig(state_path=directory / "simulator.jsonl"),
        reconcile=ReconcileConfig(interval_seconds=3600),
        stream=stream,
        grace_seconds=1.0,
        risk=BENCHMARK_RISK,
    )


async def sample_updates(settings: Settings) -> list[OrderUpdate]:
    """Real updates (placed, submitted, fill) of a few market orders, as the log holds them."""
    app = Application(settings)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            for side in (pb.SIDE_BUY, pb.SIDE_SELL, pb.SIDE_BUY):
                await stub.PlaceOrder(
                    pb.PlaceOrderRequest(
                        strategy_id="momentum_v1", symbol="AAPL", side=side, quantity="10",
                        order_type=pb.ORDER_TYPE_MARKET,
                    )
                )
            async for update in stub.StreamOrderUpdates(pb.StreamOrderUpdatesRequest()):
                if update.sequence == 9:
                    break
        async with app.engine.connect() as conn:
            return await repository.events_after(conn, 0, 9, 9)
    finally:
        await app.stop()


async def prefill(app_settings: Settings, templates: Sequence[OrderUpdate], count: int) -> None:
    """Append `count` copies of real updates to the log, as if that much history had happened."""
    app = Application(app_settings)  # only for its engine: nothing is started
    try:
        async with app.engine.connect() as conn:
            last = await repository.max_sequence(conn)
        now = templates[-1].time
        copies = (
            dataclasses.replace(templates[i % len(templates)], sequence=last + 1 + i, time=now) for i in range(count)
        )
        for batch in iter(lambda: list(itertools.islice(copies, 5_000)), []):
            async with app.engine.begin() as conn:
                statements = bulk.Statements(conn.dialect.name)
                repository.insert_events(statements, batch, [encode_update(update) for update in batch])
                await statements.run(conn)
    finally:
        await app.engine.dispose()


async def bare_server(payload: bytes, count: int) -> tuple[grpc.aio.Server, int]:
    async def stream(request: bytes, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
        for _ in range(count):
            yield payload

    server = grpc.aio.server()
    handler = grpc.unary_stream_rpc_method_handler(stream, request_deserializer=_identity, response_serializer=_identity)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Bare", {"Stream": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def in_process(pool: ProcessPoolExecutor, function: Any, *args: Any) -> tuple[dict[str, Any], float]:
    """Run a client in the pool; also this (server) process's CPU use meanwhile, in cores."""
    cpu, start = time.process_time(), time.perf_counter()
    result = await asyncio.get_running_loop().run_in_executor(pool, function, *args)
    return result, (time.process_time() - cpu) / (time.perf_counter() - start)


async def wait_for_subscribers(app: Application, count: int) -> None:
    while app.fanout.subscriber_count != count:
        await asyncio.sleep(0.01)


async def commit_synthetic(
    app: Application, templates: Sequence[OrderUpdate], count: int, until: asyncio.Future[Any] | None = None
) -> None:
    """Commit `count` copies of real updates through the writer, LIVE_BATCH per transaction
    (or, given `until`, keep committing until it is done)."""
    cycle = itertools.cycle(templates)

    async def record(tx: Transaction) -> None:
        for _ in range(LIVE_BATCH):
            template = next(cycle)
            tx.record(template.event_type, order=template.order, fill=template.fill)

    committed = 0
    while (until is None and committed < count) or (until is not None and not until.done()):
        await app.writer.run(record)
        committed += LIVE_BATCH


def rate_line(label: str, result: dict[str, Any], server_cpu: float) -> str:
    unit = "updates/s" if "messages" in result else "msg/s"
    messages = f" in {result['messages']:,} messages" if "messages" in result else ""
    return (
        f"{label:<32}{result['count'] / result['seconds']:>10,.0f} {unit}  "
        f"({result['count']:,}{messages} in {result['seconds']:.2f} s; CPU in cores: server {server_cpu:.2f}, "
        f"client {result['cpu']:.2f})"
    )


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


async def throughput(pool: ProcessPoolExecutor, settings: Settings, args: argparse.Namespace) -> None:
    """(a) and (b), each service run paired with a bare run just before it (the machine is
    shared and noisy: a ratio is only meaningful between neighbours)."""
    templates = await sample_updates(settings)
    sizes = {update.event_type: len(encode_update(update)) for update in templates}
    typical = sorted(templates, key=lambda update: len(encode_update(update)))[len(templates) // 2]
    payload = encode_update(dataclasses.replace(typical, sequence=100_000))
    print(f"serialised updates: {sizes} bytes; the bare stream sends {len(payload)} bytes")

    await prefill(settings, templates, args.updates)
    bare, bare_port = await bare_server(payload, args.updates)
    app = Application(settings)
    await app.start()  # a restart: the window is empty, the log holds everything
    tune_collector()  # as `execution-server serve` does
    pairs: dict[str, list[tuple[tuple[dict[str, Any], float], tuple[dict[str, Any], float]]]] = {}
    try:
        address = f"127.0.0.1:{app.port}"

        async def bare_run(with_writer: bool = False) -> tuple[dict[str, Any], float]:
            run = asyncio.ensure_future(in_process(pool, drain, f"127.0.0.1:{bare_port}", BARE_METHOD, b"", args.updates))
            if with_writer:
                await commit_synthetic(app, templates, args.updates, until=run)
            return await run

        async def subscriber(after: int, batches: bool = False) -> tuple[dict[str, Any], float]:
            await wait_for_subscribers(app, 0)  # the previous phase's stream has gone
            if batches:
                request = pb.StreamOrderUpdateBatchesRequest(after_sequence=after).SerializeToString()
                result, cpu = await in_process(pool, drain_batches, address, request, args.updates)
            else:
                request = pb.StreamOrderUpdatesRequest(after_sequence=after).SerializeToString()
                result, cpu = await in_process(pool, drain, address, STREAM_METHOD, request, args.updates)
            assert pb.StreamOrderUpdatesResponse.FromString(result["last"]).sequence == after + args.updates
            return result, cpu

        async def live() -> tuple[dict[str, Any], float]:
            await wait_for_subscribers(app, 0)
            run = asyncio.ensure_future(subscriber(app.fanout.high_water_mark))
            await wait_for_subscribers(app, 1)
            await commit_synthetic(app, templates, args.updates, until=run)  # the writer runs throughout, as in its pair
            return await run

        end = app.fanout.high_water_mark
        for _ in range(args.repeat):
            pairs.setdefault("replay from the log", []).append((await bare_run(), await subscriber(end - args.updates)))
        for _ in range(args.repeat):
            pairs.setdefault("live, writer flat out", []).append((await bare_run(with_writer=True), await live()))
        end = app.fanout.high_water_mark
        for _ in range(args.repeat):
            pairs.setdefault("replay from the window", []).append((await bare_run(), await subscriber(end - args.updates)))
        for _ in range(args.repeat):
            pairs.setdefault("batches, from the window", []).append(
                (await bare_run(), await subscriber(end - args.updates, batches=True))
            )
    finally:
        await app.stop()
        await bare.stop(0)
        gc.unfreeze()

    print("(a) bare grpc.aio stream, and (b) the service, in pairs run one after the other:")
    for label, runs in pairs.items():
        ratios = []
        for (bare_result, bare_cpu), (result, cpu) in runs:
            ratio = (result["count"] / result["seconds"]) / (bare_result["count"] / bare_result["seconds"])
            ratios.append(ratio)
            print(rate_line("    (a) bare", bare_result, bare_cpu))
            print(rate_line(f"    (b) {label}", result, cpu) + f"  ratio {ratio:.2f}")
        median = statistics.median(ratios)
        print(f"  {label}: median ratio to bare {median:.2f} (>= 0.8: {verdict(median >= 0.8)})")
    print(
        "  (live pairs: the bare stream ran while the same writer load committed in its process; "
        "batches: updates per second of StreamOrderUpdateBatches against messages per second of the bare stream)"
    )


def record_commits(app: Application) -> list[tuple[int, float]]:
    """(last sequence, time) of every publish: the fan-out is handed entries right after
    their transaction commits."""
    commits: list[tuple[int, float]] = []
    publish = app.fanout.publish

    def timed(entries: Sequence[Any]) -> None:
        if entries:
            commits.append((entries[-1].sequence, time.time()))
        publish(entries)

    app.fanout.publish = timed  # type: ignore[method-assign]
    return commits


async def latency(pool: ProcessPoolExecutor, settings: Settings, args: argparse.Namespace, rate: float, batches: bool) -> None:
    """(c), on a fresh database each time."""
    app = Application(settings)
    await app.start()
    tune_collector()  # as `execution-server serve` does
    try:
        commits = record_commits(app)
        address = f"127.0.0.1:{app.port}"
        after = app.fanout.high_water_mark
        subscribers = asyncio.ensure_future(
            in_process(pool, subscribe_and_time, address, args.subscribers, after, batches, args.filtered)
        )
        await wait_for_subscribers(app, args.subscribers)
        strategies = args.subscribers if args.filtered else 0
        load, server_cpu = await in_process(pool, place_orders, address, rate, args.seconds, strategies)
        result, _ = await subscribers
        committed = app.fanout.high_water_mark - after
    finally:
        await app.stop()
        gc.unfreeze()  # the next run's server starts from a heap like a fresh process's
    delays, from_begin = commit_delays(result, commits), result["from_begin"]
    stream = "StreamOrderUpdateBatches" if batches else "StreamOrderUpdates"
    following = "each following its own strategy" if args.filtered else "each following every update"
    print(
        f"(c) {args.subscribers} subscribers of {stream}, {following}, orders asked at {rate:,.0f}/s for {args.seconds:g} s: "
        f"issued {load['issued_per_second']:,.0f}/s, all answered by {load['answered_per_second']:,.0f}/s "
        f"({load['placed']:,} placed, {load['rejected']} rejected, {load['failed']} failed {load['errors']}); "
        f"{committed:,} updates, {result['received']:,} deliveries in {result['messages']:,} messages "
        f"(per subscriber {result['per_subscriber']})"
    )
    print(
        f"    delay commit -> arrival: p50 {percentile(delays, 0.5):.1f} ms, p99 {percentile(delays, 0.99):.1f} ms, "
        f"max {delays[-1]:.1f} ms (p99 < 50 ms: {verdict(percentile(delays, 0.99) < 50)}); "
        f"from the transaction's start: p50 {percentile(from_begin, 0.5):.1f} ms, "
        f"p99 {percentile(from_begin, 0.99):.1f} ms; "
        f"CPU in cores: server {server_cpu:.2f}, subscribers' process {result['cpu']:.2f}, "
        f"order generator {load['cpu']:.2f}"
    )


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="stream-grpc-") as directory:
        await run_all(args, Path(directory))


async def run_all(args: argparse.Namespace, root: Path) -> None:
    print(f"{os.cpu_count()} CPUs; database {args.database_url.split('@')[-1] or 'SQLite (temporary file)'}")

    def fresh(name: str, window_size: int) -> Settings:
        directory = root / name
        directory.mkdir()
        url = args.database_url or f"sqlite+aiosqlite:///{directory / 'execution.db'}"
        return settings_for(url, directory, window_size, args.batch_interval)

    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        # Start both worker processes before measuring anything.
        await asyncio.gather(*(asyncio.get_running_loop().run_in_executor(pool, time.sleep, 0.5) for _ in range(2)))
        # A window as large as the run, so that the window phase of (b) reads only the window.
        window = max(args.window_size, args.updates)
        print(f"(b) runs with a window of {window:,}, (c) with {args.window_size:,}")
        await throughput(pool, fresh("throughput", window), args)
        if args.database_url:
            return  # (c) wants an empty database per rate: not done on a given database
        for rate in args.rates:
            for batches in {"updates": [False], "batches": [True], "both": [False, True]}[args.stream]:
                name = f"latency-{rate:g}-{'batches' if batches else 'updates'}"
                await latency(pool, fresh(name, args.window_size), args, rate, batches)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument(
        "--rates", type=lambda text: [float(r) for r in text.split(",")], default=[1_000.0],
        help="orders per second for (c), comma-separated: one run each",
    )
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument(
        "--stream", choices=("updates", "batches", "both"), default="both",
        help="which stream (c) subscribes to: StreamOrderUpdates, StreamOrderUpdateBatches, or each in turn",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) and of each replay in (b)")
    parser.add_argument("--window-size", type=int, default=10_000)
    parser.add_argument(
        "--filtered", action="store_true",
        help="(c): each subscriber follows one strategy of its own, and the orders go round those strategies",
    )
    parser.add_argument(
        "--batch-interval", type=float, default=None,
        help="[stream] batch_interval_seconds for the server (default: the service's default)",
    )
    parser.add_argument("--database-url", default="", help="an empty database; default: SQLite in a temp dir")
    asyncio.run(main(parser.parse_args()))
