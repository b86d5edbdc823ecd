"""Reconcile through the RPC with 10,000 positions and 10,000 open orders (100 each with
--quick): a market order filled on each of 10,000 symbols and a limit order resting below the
price on each, placed through PlaceOrder; then Reconcile (no repair) timed from the client, the
whole path: the broker's snapshots, the store's, the diff, the run recorded."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import grpc

from benchmarks.bench import servers
from benchmarks.bench.figures import Figure
from benchmarks.bench.messages import pb
from benchmarks.bench.run import Run

ROUNDS = 3
RECONCILE_SETTINGS = {
    "risk": {"limits": "none"},  # 20,000 orders on 10,000 symbols: no business limit applies here
    "simulator_changes": {"starting_cash": "100000000"},
}


def seed(address: str, symbols: int, concurrency: int = 50) -> dict[str, Any]:
    """On each of `symbols` symbols, a market buy of 1 (a position) and a limit buy of 1 at half
    the simulator's default price of 100 (an open order)."""

    async def run() -> dict[str, Any]:
        requests = []
        for n in range(symbols):
            symbol = f"R{n:05d}"
            requests.append(pb.PlaceOrderRequest(strategy_id="bench-reconcile", symbol=symbol, side=pb.SIDE_BUY,
                                                 quantity="1", order_type=pb.ORDER_TYPE_MARKET))
            requests.append(pb.PlaceOrderRequest(strategy_id="bench-reconcile", symbol=symbol, side=pb.SIDE_BUY,
                                                 quantity="1", order_type=pb.ORDER_TYPE_LIMIT, limit_price="50",
                                                 time_in_force=pb.TIME_IN_FORCE_GTC))
        statuses: dict[str, int] = {}
        async with grpc.aio.insecure_channel(address) as channel:
            place = channel.unary_unary("/execution.v1.ExecutionService/PlaceOrder",
                                        request_serializer=pb.PlaceOrderRequest.SerializeToString,
                                        response_deserializer=pb.PlaceOrderResponse.FromString)
            pending = iter(requests)

            async def worker() -> None:
                for request in pending:
                    reply = await place(request)
                    name = pb.OrderStatus.Name(reply.order.status)
                    statuses[name] = statuses.get(name, 0) + 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return statuses

    return asyncio.run(run())


def reconcile(address: str, rounds: int) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with grpc.aio.insecure_channel(address) as channel:
            call = channel.unary_unary("/execution.v1.ExecutionService/Reconcile",
                                       request_serializer=pb.ReconcileRequest.SerializeToString,
                                       response_deserializer=pb.ReconcileResponse.FromString)
            seconds, discrepancies = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                reply = await call(pb.ReconcileRequest(repair=False), timeout=300)
                seconds.append(time.perf_counter() - started)
                discrepancies.append(len(reply.discrepancies))
        return {"seconds": seconds, "discrepancies": discrepancies}

    return asyncio.run(run())


async def reconcile_10k(run: Run) -> None:
    symbols = 100 if run.quick else 10_000
    async with servers.execution_server(None, RECONCILE_SETTINGS) as server:
        started = time.perf_counter()
        statuses = await run.load.submit(seed, server.address, symbols)
        seeded = time.perf_counter() - started
        await asyncio.sleep(0.5)
        result = await run.load.submit(reconcile, server.address, ROUNDS)
    run.details["reconcile"] = {"symbols": symbols, "statuses": statuses, "seed_seconds": seeded, **result}
    name = f"Reconcile {symbols:,} positions + {symbols:,} open orders"
    run.add(Figure(name, "RPC median", statistics.median(result["seconds"]) * 1000, "ms",
                   note=f"{ROUNDS} rounds, discrepancies {result['discrepancies']}"))
    run.add(Figure(name, "discrepancies", max(result["discrepancies"]) + 0.0, "items", note="all agree: 0"))
