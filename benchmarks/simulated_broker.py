"""How fast the simulated paper broker is: CPU time per order, and per price update.

Run: .venv/bin/python benchmarks/simulated_broker.py

Budget (issue 4): submit, match and fill under 50 µs of CPU per order; a price update costs
O(log n) in the resting orders of its symbol, so 10,000 resting orders cost about what
1,000 do. Times are time.process_time (CPU of this process), not wall time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from execution_server.brokers.simulated import MatchingEngine, SimulatedBroker, SimulatorSettings
from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce

ORDERS = 20_000
NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def spec(n: int, order_type: OrderType = OrderType.MARKET, limit: Decimal | None = None, side: Side = Side.BUY) -> OrderSpec:
    return OrderSpec(f"bench-{n}", "bench", "AAPL", side, Decimal(10), order_type, TimeInForce.GTC, limit)


def per_order_us(started: float, count: int) -> float:
    return (time.process_time() - started) / count * 1e6


def engine_market_orders() -> float:
    engine = MatchingEngine(default_price=Decimal(100))
    specs = [spec(n, side=Side.BUY if n % 2 else Side.SELL) for n in range(ORDERS)]
    started = time.process_time()
    for s in specs:
        engine.submit(s, NOW)
    return per_order_us(started, ORDERS)


def engine_limit_rest_then_fill() -> float:
    """Each limit order rests, then one price update per order fills it."""
    engine = MatchingEngine(default_price=Decimal(100))
    specs = [spec(n, OrderType.LIMIT, Decimal(99)) for n in range(ORDERS)]
    low, high = Decimal(99), Decimal(100)
    started = time.process_time()
    for s in specs:
        engine.submit(s, NOW)
        engine.set_price("AAPL", low, None, NOW)
        engine.set_price("AAPL", high, None, NOW)
    return per_order_us(started, ORDERS)


def set_price_with_resting(resting: int, updates: int = 2_000) -> float:
    """µs per price update that crosses nothing, beside `resting` orders at other prices."""
    engine = MatchingEngine(default_price=Decimal(1000))
    for n in range(resting):
        side = Side.BUY if n % 2 else Side.SELL
        limit = Decimal(500 + n % 400) if side is Side.BUY else Decimal(1100 + n % 400)
        engine.submit(spec(n, OrderType.LIMIT, limit, side), NOW)
    prices = [Decimal(1000) + Decimal(n % 50) / 10 for n in range(updates)]
    started = time.process_time()
    for price in prices:
        engine.set_price("AAPL", price, None, NOW)
    return per_order_us(started, updates)


def set_price_filling_one(resting: int, updates: int = 2_000) -> float:
    """µs per price update that fills exactly one of `resting` orders (one new order per update)."""
    engine = MatchingEngine(default_price=Decimal(1000))
    for n in range(resting):
        engine.submit(spec(n, OrderType.LIMIT, Decimal(500 + n % 400)), NOW)
    extra = [spec(resting + n, OrderType.LIMIT, Decimal(950)) for n in range(updates)]
    low, high = Decimal(950), Decimal(1000)
    started = time.process_time()
    for s in extra:
        engine.submit(s, NOW)
        engine.set_price("AAPL", low, None, NOW)
        engine.set_price("AAPL", high, None, NOW)
    return per_order_us(started, updates)


async def broker_market_orders(state_path: Path | None) -> float:
    broker = SimulatedBroker(SimulatorSettings(reference_prices={"AAPL": Decimal(100)}, state_path=state_path))
    await broker.start()
    orders = [
        Order(f"o-{n}", spec(n, side=Side.BUY if n % 2 else Side.SELL), OrderStatus.PENDING, NOW, NOW)
        for n in range(ORDERS)
    ]
    started = time.process_time()
    for order in orders:
        await broker.submit(order)
    result = per_order_us(started, ORDERS)
    await broker.close()
    return result


def main() -> None:
    print(f"engine  market order submit+match+fill       {engine_market_orders():7.1f} µs/order  ({ORDERS} orders)")
    print(f"engine  limit order rest, then fill          {engine_limit_rest_then_fill():7.1f} µs/order  (incl. 2 set_price)")
    print(f"broker  market order, memory only            {asyncio.run(broker_market_orders(None)):7.1f} µs/order")
    with tempfile.TemporaryDirectory() as directory:
        journaled = asyncio.run(broker_market_orders(Path(directory) / "broker.jsonl"))
    print(f"broker  market order, journal file           {journaled:7.1f} µs/order")
    for resting in (1_000, 10_000, 100_000):
        print(f"engine  set_price, no cross, {resting:>7,} resting {set_price_with_resting(resting):7.1f} µs/update")
    for resting in (1_000, 10_000, 100_000):
        print(f"engine  submit+2 set_price filling 1, {resting:>7,} resting {set_price_filling_one(resting):7.1f} µs/order")


if __name__ == "__main__":
    main()
