"""StreamOrderUpdates and StreamOrderUpdateBatches: one subscriber's delivery rate against the
bare stream, and commit-to-arrival with 100 subscribers while orders flow at 1,000/s.

The stream clients are benchmarks/stream_grpc.py's (drain, drain_batches, subscribe_and_time,
place_orders), run in the load pool's processes."""

from __future__ import annotations

import asyncio
import statistics

from benchmarks.bench import servers
from benchmarks.bench.figures import Figure
from benchmarks.bench.messages import PLACE_ORDER, pb
from benchmarks.bench.run import Run
from benchmarks.bench.scenarios.unary import REQUESTS
from benchmarks.stream_grpc import (
    STREAM_METHOD, commit_delays, drain, drain_batches, percentile, place_orders, subscribe_and_time,
)

COMMIT_TO_ARRIVAL_P99_MS = 50  # issue 22 (and the stream's own target before it)
ROUNDS = 3  # one subscriber's reads, the service's and the bare ones alternated


async def one_subscriber(run: Run) -> None:
    """Orders placed first (closed loop, c50) fill the log and the window; then one subscriber
    reads the last of them (at most the window's 10,000) as fast as it can: what the service
    delivers to a reader that keeps up. The bare stream sends as many messages of an update's
    size. A read is well under a second, which this host moves by half: the service's reads and
    the bare ones alternate, ROUNDS each (one with --quick), and the medians are compared."""
    rounds = 1 if run.quick else ROUNDS
    bare = await run.bare()
    async with servers.execution_server(None) as server:
        await run.load.closed_loop(server.address, PLACE_ORDER, REQUESTS, 50, run.seconds, 0.0)
        await asyncio.sleep(0.2)  # the last fills commit
        high = await server.ask_async("high_water_mark")
        count = min(high, 10_000)
        after = high - count
        reads: dict[str, list[dict]] = {"bare": [], "updates": [], "batches": []}
        for _ in range(rounds):
            reads["updates"].append(await run.load.submit(
                drain, server.address, STREAM_METHOD,
                pb.StreamOrderUpdatesRequest(after_sequence=after).SerializeToString(), count))
            reads["bare"].append(await run.load.submit(drain, bare.address, servers.BARE_STREAM, str(count).encode(), count))
            reads["batches"].append(await run.load.submit(
                drain_batches, server.address,
                pb.StreamOrderUpdateBatchesRequest(after_sequence=after).SerializeToString(), count))
    rate = {name: statistics.median(read["count"] / read["seconds"] for read in results) for name, results in reads.items()}
    runs = f"median of {rounds}, alternated" if rounds > 1 else "one read"
    run.add(Figure("bare stream", "one reader", rate["bare"], "msg/s",
                   note=f"{count:,} messages of an update's size, {runs}"))
    run.add(Figure("StreamOrderUpdates 1 subscriber", "delivery", rate["updates"], "updates/s",
                   baseline=rate["bare"], baseline_name="bare stream", target="ratio >= 0.8",
                   note=f"{count:,} updates from the window, {runs}"))
    run.add(Figure("StreamOrderUpdateBatches 1 subscriber", "delivery", rate["batches"],
                   "updates/s", baseline=rate["bare"], baseline_name="bare stream",
                   note=f"{count:,} updates in {reads['batches'][-1]['messages']:,} messages, {runs}"))
    for name, results in reads.items():
        run.details[f"one subscriber {name}"] = [{key: value for key, value in result.items() if key != "last"}
                                                 for result in results]


async def fan_out(run: Run) -> None:
    """100 subscribers (10 with --quick) while PlaceOrder runs open loop at 1,000 orders/s (100):
    each update's arrival at a subscriber minus the time its transaction committed (stamped in
    the server's process as the writer hands it to the fan-out; the same machine's clock).
    StreamOrderUpdateBatches: every subscriber follows every update. StreamOrderUpdates: each
    follows a strategy of its own (the orders go round them): 100 readers each following every
    update would be 300,000 messages/s, beyond one Python event loop (see the README)."""
    subscribers, rate = (10, 100.0) if run.quick else (100, 1_000.0)
    for batches in (True, False):
        filtered = not batches
        stream = "StreamOrderUpdateBatches" if batches else "StreamOrderUpdates"
        async with servers.execution_server(None, record_commits=True) as server:
            after = await server.ask_async("high_water_mark")
            listening = asyncio.ensure_future(run.load.submit(
                subscribe_and_time, server.address, subscribers, after, batches, filtered))
            if not await server.ask_async("subscribers", subscribers):
                raise RuntimeError(f"{subscribers} subscribers did not connect")
            load = await run.load.submit(place_orders, server.address, rate, run.seconds, subscribers if filtered else 0)
            result = await listening
            commits = await server.ask_async("commits")
        delays = commit_delays(result, commits)
        following = "each its own strategy" if filtered else "each every update"
        name = f"{stream} {subscribers} subscribers"
        run.add(Figure(name, "commit->arrival p99", percentile(delays, 0.99), "ms",
                       target=f"value <= {COMMIT_TO_ARRIVAL_P99_MS}",
                       note=f"{following}; {rate:,.0f} orders/s asked, {load['answered_per_second']:,.0f}/s answered"))
        run.add(Figure(name, "commit->arrival p50", percentile(delays, 0.5), "ms"))
        run.add(Figure(name, "orders answered", load["answered_per_second"], "orders/s", baseline=rate,
                       baseline_name="asked"))
        run.details[name] = {
            "following": following, "rate_asked": rate, "deliveries": result["received"],
            "messages": result["messages"], "per_subscriber": result["per_subscriber"],
            "max_ms": delays[-1] if delays else None, "place_orders": load, "subscribers_cpu": result["cpu"],
        }
