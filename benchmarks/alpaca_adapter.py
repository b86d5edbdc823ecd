"""The Alpaca adapter's own CPU per order: submit through AlpacaClient and its fill event
through events(), with the emulator in another process so that its time is not counted.

Run: .venv/bin/python benchmarks/alpaca_adapter.py [--orders 2000] [--repeat 3]

Budget (issue 19): under 1 ms of CPU per order. The figure is time.process_time of this
process (every thread: the loop, the REST pool, alpaca-py, requests, the websocket) over N
market orders, each filling at once at the emulator (`execution-server alpaca-emulator`, a
subprocess). It includes what alpaca-py and requests cost, since the service pays that too;
for scale, the same POST sent with a bare requests.Session is measured alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import requests

from execution_server.brokers.alpaca.client import AlpacaClient
from execution_server.brokers.alpaca.rate_limit import RequestBudget
from execution_server.brokers.base import OrderFilled
from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def start_emulator() -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen([sys.executable, "-m", "execution_server", "alpaca-emulator", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # "alpaca emulator: REST <url> stream <url> control <url>"
    words = line.split()
    return process, words[words.index("REST") + 1], words[words.index("stream") + 1]


def control(rest_url: str, name: str, **arguments: object) -> None:
    request = urllib.request.Request(f"{rest_url}/_emulator/{name}", data=json.dumps(arguments).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        reply.read()


def an_order(run: str, n: int) -> Order:
    # Alternately bought and sold: the emulator's position and buying power stay flat.
    spec = OrderSpec(f"{run}-{n}", "bench", "AAPL", Side.BUY if n % 2 == 0 else Side.SELL, Decimal(1),
                     OrderType.MARKET, TimeInForce.DAY, None)
    return Order(f"o-{run}-{n}", spec, OrderStatus.PENDING, NOW, NOW)


class Fills:
    """Reads the adapter's events() as the service does, and wakes whoever waits for a fill."""

    def __init__(self, client: AlpacaClient) -> None:
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.task = asyncio.create_task(self._read(client))

    async def _read(self, client: AlpacaClient) -> None:
        async for event in client.events():
            if isinstance(event, OrderFilled):
                future = self.waiting.pop(event.client_order_id, None)
                if future is not None and not future.done():
                    future.set_result(None)

    def expect(self, client_order_id: str) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[client_order_id] = future
        return future


async def adapter_run(client: AlpacaClient, fills: Fills, run: str, count: int, concurrency: int) -> tuple[float, float]:
    """CPU µs per order and orders per second (wall), `concurrency` orders in flight."""
    orders = [an_order(run, n) for n in range(count)]

    async def one(order: Order) -> None:
        filled = fills.expect(order.client_order_id)
        await client.submit(order)
        await filled

    started_cpu, started_wall = time.process_time(), time.perf_counter()
    for first in range(0, count, concurrency):
        await asyncio.gather(*(one(order) for order in orders[first:first + concurrency]))
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
    return cpu / count * 1e6, count / wall


def bare_post(rest_url: str, run: str, count: int, trust_env: bool) -> float:
    """CPU µs per POST /v2/orders sent with requests alone: the HTTP client's share. With
    trust_env (requests' default, and alpaca-py's) every request reads the proxy and netrc
    settings from the environment again."""
    session = requests.Session()
    session.trust_env = trust_env
    session.headers.update({"APCA-API-KEY-ID": "KEY", "APCA-API-SECRET-KEY": "SECRET"})
    started = time.process_time()
    for n in range(count):
        body = {"symbol": "AAPL", "qty": "1", "side": "buy" if n % 2 == 0 else "sell", "type": "market",
                "time_in_force": "day", "client_order_id": f"{run}-{n}"}
        session.post(f"{rest_url}/v2/orders", json=body, timeout=(3.05, 10)).raise_for_status()
    return (time.process_time() - started) / count * 1e6


def sdk_submit(client: AlpacaClient, run: str, count: int) -> dict[str, float]:
    """CPU µs per order of alpaca-py's submit_order alone, called directly (no loop, no thread
    hop, no budget; the stream closed): the SDK's and requests' share of the adapter's figure,
    with the adapter's ApiSession and with the requests.Session alpaca-py builds itself (timeout
    and environment as the adapter sets them), in alternating blocks so that the machine's
    drift falls on both alike."""
    from execution_server.brokers.alpaca.mapping import order_request_for

    spent: dict[str, float] = {}
    for name, first, size in alternating(client, count):
        requests_ = [order_request_for(an_order(f"{run}-{name}", n)) for n in range(first, first + size)]
        started = time.process_time()
        for request in requests_:
            client._trading.submit_order(request)
        spent[name] = spent.get(name, 0.0) + time.process_time() - started
    return {name: total / count * 1e6 for name, total in spent.items()}


def both_sessions(client: AlpacaClient) -> dict[str, requests.Session]:
    """The adapter's ApiSession, and requests' own Session with what the adapter set on its
    session before ApiSession: the timeout, the environment read once, the rate-limit hook."""
    lean = client._trading._session
    plain = requests.Session()
    plain.trust_env = False
    plain.hooks["response"] = list(lean.hooks["response"])
    plain.request = functools.partial(plain.request, timeout=lean.timeout)  # type: ignore[method-assign]
    return {"ApiSession": lean, "requests.Session": plain}


async def sessions_compared(client: AlpacaClient, fills: Fills, run: str, count: int, concurrency: int) -> dict[str, float]:
    """The adapter's CPU µs per order with each session, in alternating blocks of 100 orders."""
    spent: dict[str, float] = {}
    for name, first, size in alternating(client, count):
        cpu, _ = await adapter_run(client, fills, f"{run}-{name}-{first}", size, concurrency)
        spent[name] = spent.get(name, 0.0) + cpu * size
    return {name: total / count for name, total in spent.items()}


def alternating(client: AlpacaClient, count: int, block: int = 100) -> Iterator[tuple[str, int, int]]:
    """(session name, first order, orders) for each block of `count` orders, the sessions taking
    turns on the client; the adapter's ApiSession is back in place at the end."""
    sessions = both_sessions(client)
    try:
        for first in range(0, count, block):
            for name, session in sessions.items():
                client._trading._session = session
                yield name, first, min(block, count - first)
    finally:
        client._trading._session = sessions["ApiSession"]


async def main(orders: int, repeat: int) -> None:
    process, rest_url, stream_url = start_emulator()
    try:
        control(rest_url, "set_price", symbol="AAPL", price="100")
        # Alpaca's 200 requests a minute would make this a benchmark of the budget's waits (it
        # sleeps, costing no CPU, but the run would take an hour): a budget the run never meets.
        client = AlpacaClient("KEY", "SECRET", rest_url, stream_url, paper=True,
                              budget=RequestBudget(per_minute=10_000_000))
        await client.start()
        fills = Fills(client)
        while not client.stream_up:
            await asyncio.sleep(0.01)
        await adapter_run(client, fills, "warm", 200, 1)
        print(f"{orders} market orders per run, each submitted and its fill read through events(); "
              f"CPU of this process only (the emulator is pid {process.pid})")
        for concurrency in (1, 4):
            results = [await adapter_run(client, fills, f"c{concurrency}r{r}", orders, concurrency)
                       for r in range(repeat)]
            cpu = [c for c, _ in results]
            print(f"adapter, {concurrency} in flight: CPU per order {min(cpu):.0f}-{max(cpu):.0f} µs "
                  f"(median {statistics.median(cpu):.0f}); {min(r for _, r in results):.0f}-"
                  f"{max(r for _, r in results):.0f} orders/s wall")
        for concurrency in (1, 4):
            compared = [await sessions_compared(client, fills, f"s{concurrency}r{r}", orders, concurrency)
                        for r in range(repeat)]
            print(f"adapter, {concurrency} in flight, alternating blocks of 100 orders: " + "; ".join(
                f"with {name} {statistics.median(run[name] for run in compared):.0f} µs" for name in compared[0]))
        await client.close()
        fills.task.cancel()
        # After close(): the stream is down, so this is alpaca-py and requests alone.
        sdk = [await asyncio.to_thread(sdk_submit, client, f"sdk{r}", orders) for r in range(repeat)]
        for name in sdk[0]:
            cpu = [run[name] for run in sdk]
            print(f"of which alpaca-py's submit_order alone (SDK and requests, no stream), with {name}: "
                  f"{min(cpu):.0f}-{max(cpu):.0f} µs CPU (median {statistics.median(cpu):.0f})")
        for trust_env in (True, False):
            bare = [await asyncio.to_thread(bare_post, rest_url, f"bare{trust_env}{r}", orders, trust_env)
                    for r in range(repeat)]
            print(f"for scale, a bare requests POST of the same order (trust_env={trust_env}): "
                  f"{min(bare):.0f}-{max(bare):.0f} µs CPU")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.orders, arguments.repeat))
