"""In-process throughput, latency and memory of the order-stream fan-out (no gRPC).

    .venv/bin/python benchmarks/stream_fanout.py [--quick]

What it measures, all inside one event loop, with an in-memory log:
  live          entries/s delivered while the writer publishes, to 1 and to 100 subscribers
  catch-up      entries/s for one subscriber replaying from the log (paged reads), then the window
  latency       publish -> arrival, 100 subscribers, ~1,000 single-entry publishes per second
  stalled       traced memory after 1,000 subscribers stall and 1, 10, 30 windows are published

These bound what the gRPC stream can do from above: the servicer adds one write per message.
The comparison with a bare grpc.aio stream of the same message size belongs with the servicer.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import statistics
import time
import tracemalloc
from collections.abc import Sequence

from execution_server.events.fanout import Fanout
from execution_server.events.log import LogEntry

PAYLOAD = bytes(256)  # about the size of a serialised StreamOrderUpdatesResponse


class MemoryLog:
    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    async def read_after(self, after_sequence: int, limit: int) -> list[LogEntry]:
        start = bisect.bisect_right(self.entries, after_sequence, key=lambda e: e.sequence)
        return self.entries[start : start + limit]

    async def oldest_sequence(self) -> int | None:
        return self.entries[0].sequence if self.entries else None


def make_entries(first: int, count: int) -> list[LogEntry]:
    return [LogEntry(s, "alpha", "AAPL", PAYLOAD) for s in range(first, first + count)]


async def consume(fanout: Fanout, after: int, last: int) -> int:
    delivered = 0
    async for entry in fanout.subscribe(after):
        delivered += 1
        if entry.sequence >= last:
            break
    return delivered


async def live(subscribers: int, total: int, batch: int = 100) -> float:
    """Entries/s delivered (summed over subscribers) while the writer keeps publishing."""
    log = MemoryLog()
    fanout = Fanout(log)
    entries = make_entries(1, total)
    readers = [asyncio.create_task(consume(fanout, 0, total)) for _ in range(subscribers)]
    await asyncio.sleep(0)
    start = time.perf_counter()
    for i in range(0, total, batch):
        chunk = entries[i : i + batch]
        log.entries.extend(chunk)
        fanout.publish(chunk)
        await asyncio.sleep(0)
    delivered = sum(await asyncio.gather(*readers))
    return delivered / (time.perf_counter() - start)


async def catch_up(total: int) -> float:
    """Entries/s for one subscriber starting at 0 when most entries are only in the log."""
    log = MemoryLog()
    log.entries = make_entries(1, total)
    fanout = Fanout(log, high_water_mark=0)
    fanout.publish(log.entries)  # the window keeps the last 10,000; the rest is read in pages
    start = time.perf_counter()
    delivered = await consume(fanout, 0, total)
    return delivered / (time.perf_counter() - start)


async def latency(subscribers: int, rate: int, seconds: float) -> list[float]:
    """Publish -> arrival delays in ms, one entry per publish at about `rate` per second."""
    log = MemoryLog()
    fanout = Fanout(log)
    total = int(rate * seconds)
    published: dict[int, float] = {}
    delays: list[float] = []

    async def reader() -> None:
        async for entry in fanout.subscribe(0):
            delays.append((time.perf_counter() - published[entry.sequence]) * 1000)
            if entry.sequence >= total:
                return

    readers = [asyncio.create_task(reader()) for _ in range(subscribers)]
    await asyncio.sleep(0)
    start = time.perf_counter()
    for entry in make_entries(1, total):
        await asyncio.sleep(max(0.0, start + entry.sequence / rate - time.perf_counter()))
        log.entries.append(entry)
        published[entry.sequence] = time.perf_counter()
        fanout.publish([entry])
    await asyncio.gather(*readers)
    return delays


async def stalled_memory(subscribers: int, windows: Sequence[int]) -> list[float]:
    """Traced MiB held after `subscribers` stall and each count of windows is published.

    If anything grew per stalled subscriber with what it missed, the figure would grow with
    the number of windows published; it should stay flat (the window, plus a constant per
    subscription)."""
    results = []
    for count in windows:
        tracemalloc.start()
        fanout = Fanout(MemoryLog(), window_size=10_000)
        fanout.publish(make_entries(1, 1))
        stalled = [fanout.subscribe(0) for _ in range(subscribers)]
        for subscription in stalled:
            await anext(subscription)
        for i in range(count * 10):
            fanout.publish(make_entries(2 + i * 1_000, 1_000))
        results.append(tracemalloc.get_traced_memory()[0] / 2**20)
        tracemalloc.stop()
        for subscription in stalled:
            await subscription.aclose()
    return results


def percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1]


async def main(quick: bool) -> None:
    scale = 10 if quick else 1
    print(f"payload {len(PAYLOAD)} bytes, window 10,000, page 500")
    for subscribers, total in ((1, 1_000_000 // scale), (100, 50_000 // scale)):
        rate = await live(subscribers, total)
        print(f"live      {subscribers:>4} subscriber(s): {rate:>12,.0f} entries/s delivered "
              f"({rate / subscribers:,.0f} per subscriber)")
    print(f"catch-up     1 subscriber : {await catch_up(1_000_000 // scale):>12,.0f} entries/s")
    delays = await latency(100, 1_000, 5 / (2 if quick else 1))
    print(f"latency    100 subscribers, 1,000/s: p50 {percentile(delays, 0.5):.2f} ms, "
          f"p99 {percentile(delays, 0.99):.2f} ms, max {max(delays):.2f} ms")
    for windows, mib in zip((1, 10, 30), await stalled_memory(1_000, (1, 10, 30))):
        print(f"stalled   1,000 subscribers, {windows:>2} windows published: {mib:.1f} MiB traced")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the work")
    asyncio.run(main(parser.parse_args().quick))
