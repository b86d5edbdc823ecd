"""CPU cost of the pure reconciliation diff: 10,000 positions and 10,000 open orders.

The broker's response time is not measured: both snapshots are built first, then
time.process_time() covers only reconcile.compare.reconcile. Two scenarios:
- agreeing: every position and order matches (the usual case);
- disagreeing: every position and every order differs in some way (the worst case: one or two
  Discrepancy values per item, formatted and sorted).
Budget (issue 7): under 200 ms of CPU. Run: .venv/bin/python benchmarks/reconcile_compare.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from execution_server.brokers.base import BrokerOrder, BrokerPosition
from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce
from execution_server.reconcile.compare import ReconciliationResult, reconcile

N = 10_000
BUDGET_SECONDS = 0.200
ROUNDS = 7
NOW = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)


def an_order(n: int, filled: Decimal) -> Order:
    symbol = f"SYM{n % N:05d}"
    price = Decimal("10.25")
    spec = OrderSpec(f"c-{n}", "bench", symbol, Side.BUY, Decimal(100), OrderType.LIMIT, TimeInForce.DAY, price)
    return Order(f"o-{n}", spec, OrderStatus.PARTIALLY_FILLED, NOW, NOW, filled, price, f"b-{n}")


def a_broker_order(n: int, filled: Decimal, status: OrderStatus) -> BrokerOrder:
    return BrokerOrder(
        f"b-{n}", f"c-{n}", f"SYM{n % N:05d}", Side.BUY, OrderType.LIMIT, TimeInForce.DAY,
        Decimal(100), filled, Decimal("10.25"), status, status.value.lower(), Decimal("10.25"),
    )  # fmt: skip


def scenario(disagree: bool) -> Callable[[], ReconciliationResult]:
    local_positions = {f"SYM{n:05d}": Decimal(n + 1) for n in range(N)}
    broker_positions = [BrokerPosition(f"SYM{n:05d}", Decimal(n + 1 + disagree), Decimal("10.25")) for n in range(N)]
    local_orders = [an_order(n, Decimal(40)) for n in range(N)]
    broker_status = OrderStatus.SUBMITTED if disagree else OrderStatus.PARTIALLY_FILLED
    broker_orders = [a_broker_order(n, Decimal(40 + disagree), broker_status) for n in range(N)]
    return lambda: reconcile(local_positions, local_orders, broker_positions, broker_orders, {}, NOW)


def measure(run: Callable[[], ReconciliationResult]) -> tuple[float, int]:
    timings = []
    for _ in range(ROUNDS):
        start = time.process_time()
        result = run()
        timings.append(time.process_time() - start)
    return statistics.median(timings), len(result.discrepancies)


def main() -> int:
    over_budget = False
    for name, disagree in (("agreeing", False), ("disagreeing", True)):
        seconds, found = measure(scenario(disagree))
        over_budget |= seconds >= BUDGET_SECONDS
        print(
            f"{name:12} {N} positions + {N} open orders: "
            f"{seconds * 1000:7.1f} ms CPU (median of {ROUNDS}), {found} discrepancies"
        )
    print(f"budget {BUDGET_SECONDS * 1000:.0f} ms: {'EXCEEDED' if over_budget else 'met'}")
    return 1 if over_budget else 0


if __name__ == "__main__":
    sys.exit(main())
