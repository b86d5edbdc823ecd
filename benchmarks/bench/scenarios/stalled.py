"""Stalled readers cost nobody: 0, 30 and 200 StreamOrderUpdates readers that never read (raw
HTTP/2, tests/raw_http2.py: each its own connection, which opens its call and then never reads
its socket again, so its window and then the kernel's buffers fill and the server can send it
nothing more) while orders flow at a fixed rate. Measured each round: a healthy reader's lag
(PlaceOrder acknowledged -> that order's fill update arrives at it), PlaceOrder p50, and the
server's RSS before the stalled readers come, with them, and after they close (the target: back
within 10% of before they came; against the RSS at the server's start, for the record).

The rounds run on one server, one after another, and differ only in their stalled readers: the
readers joining half-way replay from the start of their own round, so each replays the same half
round. (Up to commit fea0e34 they replayed from sequence 0, every round before theirs too: the
200 round's replay was three times the 0 round's, and that, not the stalled readers, was most of
the difference measured.)"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import grpc

from benchmarks.bench import servers
from benchmarks.bench.figures import Figure
from benchmarks.bench.load import percentile
from benchmarks.bench.machine import rss_mb
from benchmarks.bench.messages import pb, place_order_request
from benchmarks.bench.run import Run
from benchmarks.stream_grpc import STREAM_METHOD

HEALTHY = "healthy"
JOINERS = 10  # readers joining half-way through each round, from the round's start


def hold_stalled(port: int, count: int, release: str) -> int:
    """`count` connections, each with one StreamOrderUpdates call it never reads, held until the
    file `release` exists; then closed. In a load pool process."""
    from tests.raw_http2 import RawConnection

    connections = []
    try:
        for _ in range(count):
            connection = RawConnection(port)
            connection.call(STREAM_METHOD, pb.StreamOrderUpdatesRequest())
            connections.append(connection)
        while not Path(release).exists():
            time.sleep(0.05)
    finally:
        for connection in connections:
            connection.close()
    return len(connections)


def healthy_round(address: str, after: int, rate: float, seconds: float, joiners: int = 0) -> dict[str, Any]:
    """One reader that reads (StreamOrderUpdates of strategy HEALTHY), and PlaceOrder of that
    strategy's market orders open loop at `rate`: each order's acknowledgement time, its fill's
    arrival time at the reader. Half-way, `joiners` more readers join from `after` (the round's
    start) and read everything until the round ends: readers catching up, beside the stalled
    ones (the issue's scenario)."""

    async def run() -> dict[str, Any]:
        acknowledged: dict[str, float] = {}
        arrived: dict[str, float] = {}
        latencies: list[float] = []
        failed = 0
        async with grpc.aio.insecure_channel(address) as channel:
            stream = channel.unary_stream(
                STREAM_METHOD, request_serializer=pb.StreamOrderUpdatesRequest.SerializeToString,
                response_deserializer=pb.StreamOrderUpdatesResponse.FromString,
            )(pb.StreamOrderUpdatesRequest(strategy_id=HEALTHY, after_sequence=after))

            async def read() -> None:
                async for update in stream:
                    if update.event_type == "fill":
                        arrived[update.order.order_id] = time.perf_counter()

            reader = asyncio.ensure_future(read())
            place = channel.unary_unary(
                "/execution.v1.ExecutionService/PlaceOrder", request_serializer=pb.PlaceOrderRequest.SerializeToString,
                response_deserializer=pb.PlaceOrderResponse.FromString,
            )

            async def one(side: int) -> None:
                nonlocal failed
                started = time.perf_counter()
                try:
                    reply = await place(_healthy_request(side))
                except grpc.aio.AioRpcError:
                    failed += 1
                    return
                ended = time.perf_counter()
                acknowledged[reply.order.order_id] = ended
                latencies.append(ended - started)

            joined: list[int] = []

            async def join() -> None:
                call = channel.unary_stream(
                    STREAM_METHOD, request_serializer=pb.StreamOrderUpdatesRequest.SerializeToString,
                    response_deserializer=None,
                )(pb.StreamOrderUpdatesRequest(after_sequence=after))
                index = len(joined)
                joined.append(0)
                try:
                    async for _ in call:
                        joined[index] += 1
                finally:
                    call.cancel()

            calls, joining = [], []
            total = int(rate * seconds)
            start = time.perf_counter()
            for i in range(total):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                if i == total // 2:
                    joining = [asyncio.ensure_future(join()) for _ in range(joiners)]
                calls.append(asyncio.ensure_future(one(pb.SIDE_BUY if i % 2 == 0 else pb.SIDE_SELL)))
            await asyncio.gather(*calls)
            give_up = time.perf_counter() + 30
            while not set(acknowledged) <= set(arrived) and time.perf_counter() < give_up:
                await asyncio.sleep(0.05)
            stream.cancel()
            reader.cancel()
            for task in joining:
                task.cancel()
            await asyncio.gather(*joining, return_exceptions=True)
        lags = sorted(arrived[order] - at for order, at in acknowledged.items() if order in arrived)
        latencies.sort()
        return {
            "orders": len(acknowledged), "failed": failed, "missing_updates": len(set(acknowledged) - set(arrived)),
            "lag_p50_ms": percentile(lags, 0.5) * 1000, "lag_p99_ms": percentile(lags, 0.99) * 1000,
            "place_order_p50_ms": percentile(latencies, 0.5) * 1000,
            "place_order_p99_ms": percentile(latencies, 0.99) * 1000,
            "joiners": joiners, "joiner_updates_received": sum(joined),
        }

    return asyncio.run(run())


def _healthy_request(side: int) -> pb.PlaceOrderRequest:
    request = place_order_request(side)
    request.strategy_id = HEALTHY
    return request


async def stalled_readers(run: Run) -> None:
    counts, rate, joiners = ((0, 3, 10), 100.0, 2) if run.quick else ((0, 30, 200), 300.0, JOINERS)
    rounds: dict[int, dict[str, Any]] = {}
    async with servers.execution_server(None) as server:
        start_rss = rss_mb(server.pid)
        for count in counts:
            with TemporaryDirectory(prefix="bench-stalled-") as directory:
                release = Path(directory) / "release"
                before = rss_mb(server.pid)
                holding = asyncio.ensure_future(run.load.submit(hold_stalled, server.port, count, str(release)))
                if not await server.ask_async("subscribers", count):
                    raise RuntimeError(f"{count} stalled readers did not subscribe")
                after = await server.ask_async("high_water_mark")
                result = await run.load.submit(healthy_round, server.address, after, rate, run.seconds, joiners)
                with_them = rss_mb(server.pid)
                release.touch()
                await holding
                if not await server.ask_async("subscribers", 0):
                    raise RuntimeError("the stalled readers' streams did not end")
                await asyncio.sleep(0.2 if run.quick else 1.0)  # what the server frees on their close
                result.update(rss_before_mb=before, rss_with_mb=with_them, rss_after_mb=rss_mb(server.pid))
                rounds[count] = result
    run.details["stalled readers"] = {"rate": rate, "joiners": joiners, "start_rss_mb": start_rss, "rounds": rounds}
    none = rounds[0]
    for count, result in rounds.items():
        name = f"stalled readers {count} ({rate:,.0f} orders/s, {joiners} joining)"
        baseline = {} if count == 0 else {"baseline_name": "0 stalled"}
        run.add(Figure(name, "healthy reader lag p50", result["lag_p50_ms"], "ms",
                       baseline=none["lag_p50_ms"] if count else None, target="ratio <= 2" if count else "",
                       **baseline))
        run.add(Figure(name, "PlaceOrder p50", result["place_order_p50_ms"], "ms",
                       baseline=none["place_order_p50_ms"] if count else None, target="ratio <= 1.5" if count else "",
                       **baseline))
        run.add(Figure(name, "server RSS with them", result["rss_with_mb"], "MB"))
        # The target is the stalled readers' own memory given back: against the RSS just before
        # they came. Against the RSS at start it includes what the orders of every round keep.
        run.add(Figure(name, "server RSS after close", result["rss_after_mb"], "MB", baseline=result["rss_before_mb"],
                       baseline_name="RSS before they came", target="ratio <= 1.1"))
        run.add(Figure(name, "server RSS after close, against the start", result["rss_after_mb"], "MB",
                       baseline=start_rss, baseline_name="RSS at start"))
