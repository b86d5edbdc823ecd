"""The closed-loop load generator: for concurrency N, N calls always outstanding, each call's
latency recorded. It runs in a spawn process pool of its own (LoadPool) and splits N over the
pool's processes, so that the client is not what is measured; the same generator drives the
bare server's unary RPC and the service's PlaceOrder."""

from __future__ import annotations

import asyncio
import gc
import time
from array import array
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import grpc

from benchmarks.bench import machine

WORKERS = 2


def _identity(payload: bytes) -> bytes:
    return payload


def closed_loop(
    address: str, method: str, requests: Sequence[bytes], concurrency: int, start_at: float, warm_up: float,
    seconds: float,
) -> dict[str, Any]:
    """From wall-clock `start_at`, `concurrency` calls of `method` in flight (the requests in
    turn); the calls that end in the `seconds` after `warm_up` are counted and timed."""

    async def run() -> dict[str, Any]:
        gc.disable()  # the latencies array grows; the collector's passes would be timed as the server's
        latencies = array("d")
        failed = 0
        async with grpc.aio.insecure_channel(address) as channel:
            call = channel.unary_unary(method, request_serializer=_identity, response_deserializer=_identity)
            await call(requests[0])  # connected before the clock starts
            await asyncio.sleep(max(0.0, start_at - time.time()))
            begin = time.perf_counter()
            counting_from, end = begin + warm_up, begin + warm_up + seconds

            async def worker(offset: int) -> None:
                nonlocal failed
                turn = offset
                while True:
                    started = time.perf_counter()
                    if started >= end:
                        return
                    try:
                        await call(requests[turn % len(requests)])
                    except grpc.aio.AioRpcError:
                        failed += 1
                        continue
                    finally:
                        turn += 1
                    ended = time.perf_counter()
                    if counting_from <= started and ended <= end:
                        latencies.append(ended - started)

            cpu = time.process_time()
            await asyncio.gather(*(worker(i) for i in range(concurrency)))
            cpu = time.process_time() - cpu
        return {"latencies": latencies, "failed": failed, "seconds": seconds, "client_cpu": cpu / (warm_up + seconds)}

    return asyncio.run(run())


@dataclass
class Result:
    calls_per_second: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    calls: int
    failed: int
    client_cpu: list[float]  # cores used by each load process
    # The server's CPU time over the whole phase (warm-up too), per call at the measured rate;
    # None when the server's process was not named.
    server_cpu_ms_per_call: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class LoadPool:
    """The load generator's processes (spawn), started once for the whole run."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self.pool, time.sleep, 0.3) for _ in range(self.workers)))

    def close(self) -> None:
        self.pool.shutdown()

    async def submit(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, function, *args)

    async def closed_loop(
        self, address: str, method: str, requests: Sequence[bytes], concurrency: int, seconds: float,
        warm_up: float = 1.0, server_pid: int | None = None,
    ) -> Result:
        shares = [concurrency // self.workers + (1 if i < concurrency % self.workers else 0) for i in range(self.workers)]
        shares = [share for share in shares if share]
        start_at = time.time() + 0.5
        cpu_before = machine.cpu_seconds(server_pid) if server_pid else 0.0
        parts = await asyncio.gather(*(
            self.submit(closed_loop, address, method, list(requests), share, start_at, warm_up, seconds)
            for share in shares
        ))
        # Includes the half second before the start and the connection set-up: slightly high.
        server_cpu = machine.cpu_seconds(server_pid) - cpu_before if server_pid else None
        latencies = sorted(value for part in parts for value in part["latencies"])
        calls_over_phase = len(latencies) / seconds * (warm_up + seconds)
        return Result(
            calls_per_second=len(latencies) / seconds,
            p50_ms=percentile(latencies, 0.5) * 1000,
            p99_ms=percentile(latencies, 0.99) * 1000,
            p999_ms=percentile(latencies, 0.999) * 1000,
            calls=len(latencies),
            failed=sum(part["failed"] for part in parts),
            client_cpu=[round(part["client_cpu"], 2) for part in parts],
            server_cpu_ms_per_call=server_cpu / calls_over_phase * 1000 if server_cpu is not None and latencies else None,
        )
