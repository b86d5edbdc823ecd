"""PlaceOrder through gRPC: server CPU per call, against a bare grpc.aio unary call side by side.

    .venv/bin/python benchmarks/place_order_grpc.py [--rates 300,800,1000] [--seconds 5] [--repeat 2]

Both servers run in this process: the real Application (simulated broker, SQLite in a temp
dir, market orders that fill at once) and a bare grpc.aio server whose handler returns 200
bytes. A client process sends calls open loop at each rate; for each run this prints the
calls answered per second and this process's CPU time per call (every thread: the event
loop, gRPC's own threads, the database driver's). Runs alternate bare / PlaceOrder so that
each ratio compares neighbours on a noisy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).parent))
from stream_grpc import place_orders, settings_for  # noqa: E402  (a sibling script)

from execution_server.app import Application, tune_collector  # noqa: E402

BARE_METHOD = "/bench.Bare/Unary"


def _identity(payload: bytes) -> bytes:
    return payload


def call_bare(address: str, rate: float, seconds: float) -> dict[str, Any]:
    """Open loop, like stream_grpc.place_orders, with a 150-byte request."""

    async def run() -> dict[str, Any]:
        async with grpc.aio.insecure_channel(address) as channel:
            method = channel.unary_unary(BARE_METHOD, request_serializer=_identity, response_deserializer=_identity)
            calls = []
            start = time.perf_counter()
            for i in range(int(rate * seconds)):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                calls.append(asyncio.ensure_future(method(b"r" * 150)))
            replies = await asyncio.gather(*calls, return_exceptions=True)
            answered = time.perf_counter() - start
        failed = [reply for reply in replies if isinstance(reply, BaseException)]
        return {"placed": len(replies) - len(failed), "failed": len(failed), "answered_per_second": len(replies) / answered}

    return asyncio.run(run())


async def bare_server() -> tuple[grpc.aio.Server, int]:
    async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return b"a" * 200

    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(unary, request_deserializer=_identity, response_serializer=_identity)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Bare", {"Unary": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def measured(pool: ProcessPoolExecutor, function: Any, *args: Any) -> tuple[dict[str, Any], float]:
    """The client's result, and this process's CPU seconds per call answered."""
    cpu = time.process_time()
    result = await asyncio.get_running_loop().run_in_executor(pool, function, *args)
    await asyncio.sleep(1.0)  # fills and their commits that follow the last reply
    return result, (time.process_time() - cpu) / max(1, result["placed"])


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="place-order-grpc-") as directory, ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("spawn")
    ) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, time.sleep, 0.5)  # start the worker
        root = Path(directory)
        app = Application(settings_for(f"sqlite+aiosqlite:///{root / 'execution.db'}", root, 10_000))
        await app.start()
        tune_collector()  # as `execution-server serve` does
        bare, bare_port = await bare_server()
        try:
            for rate in args.rates:
                ratios = []
                for _ in range(args.repeat):
                    base, base_cpu = await measured(pool, call_bare, f"127.0.0.1:{bare_port}", rate, args.seconds)
                    real, real_cpu = await measured(pool, place_orders, f"127.0.0.1:{app.port}", rate, args.seconds)
                    ratios.append(real_cpu / base_cpu)
                    for label, result, cpu in (("bare unary", base, base_cpu), ("PlaceOrder", real, real_cpu)):
                        print(
                            f"{rate:>6,.0f}/s asked  {label:<11} answered {result['answered_per_second']:>6,.0f}/s "
                            f"({result['failed']} failed)  server CPU {cpu * 1e6:>6,.0f} µs per call"
                        )
                print(f"        PlaceOrder costs {statistics.median(ratios):.1f}x a bare unary call (median)")
        finally:
            await bare.stop(0)
            await app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=lambda text: [float(r) for r in text.split(",")], default=[300.0, 800.0, 1000.0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
