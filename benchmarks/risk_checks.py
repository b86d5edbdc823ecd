"""How long the pre-trade checks take per order, with every limit configured.

A portfolio of 1,000 positions and 10,000 open orders across 20 strategies and 1,000
symbols; every order passes, so every check runs to the end (the worst case). CPU time,
from time.process_time, so that other load on the machine does not count.

    .venv/bin/python benchmarks/risk_checks.py
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from decimal import Decimal

from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side
from execution_server.risk.limits import parse_risk_limits
from execution_server.risk.manager import RiskManager
from execution_server.risk.portfolio import PortfolioView

STRATEGIES = [f"strategy_{n}" for n in range(20)]
SYMBOLS = [f"SYM{n:04d}" for n in range(1000)]
POSITIONS, OPEN_ORDERS, ORDERS, WARM_UP = 1_000, 10_000, 60_000, 10_000
NOW = datetime(2025, 1, 2, tzinfo=UTC)

LIMITS = {
    "max_order_quantity": "1000000",
    "max_order_notional": "100000000000",
    "blocked_symbols": ["BLOCKED"],
    "allowed_symbols": [*SYMBOLS],
    "price_collar_pct": "50",
    "max_open_orders": 1_000_000,
    "max_orders_per_second": 1_000_000_000,
    "max_position_quantity": "100000000",
    "max_position_notional": "100000000000000",
    "max_daily_loss": "1000000000",
    "duplicate_window_seconds": 1,
    "max_gross_exposure": "100000000000000",
    "max_net_exposure": "100000000000000",
    "account": {
        "max_position_quantity": "100000000",
        "max_position_notional": "100000000000000",
        "max_daily_loss": "1000000000",
        "max_gross_exposure": "100000000000000",
        "max_net_exposure": "100000000000000",
    },
}


def an_order(n: int, strategy: str, symbol: str, side: Side, quantity: int, limit: Decimal | None) -> Order:
    spec = OrderSpec(f"c{n}", strategy, symbol, side, Decimal(quantity),
                     OrderType.LIMIT if limit is not None else OrderType.MARKET, limit_price=limit)
    return Order(f"o{n}", spec, OrderStatus.SUBMITTED, NOW, NOW)


def build(rng: random.Random) -> tuple[RiskManager, dict[str, Decimal], list[OrderSpec]]:
    prices = {symbol: Decimal(rng.randint(1000, 50000)) / 100 for symbol in SYMBOLS}
    portfolio = PortfolioView()
    for symbol, price in prices.items():
        portfolio.on_price(symbol, price)
    for n in range(POSITIONS):
        strategy, symbol = STRATEGIES[n % len(STRATEGIES)], SYMBOLS[n % len(SYMBOLS)]
        quantity = Decimal(rng.randint(1, 500) * rng.choice((1, -1)))
        portfolio.position_adjusted(strategy, symbol, quantity, prices[symbol])
    for n in range(OPEN_ORDERS):
        symbol = rng.choice(SYMBOLS)
        order = an_order(n, rng.choice(STRATEGIES), symbol, rng.choice(list(Side)), rng.randint(1, 100), prices[symbol])
        portfolio.order_opened(order)
    manager = RiskManager(parse_risk_limits(LIMITS), portfolio, prices.get)
    specs = []
    for n in range(ORDERS):
        symbol = rng.choice(SYMBOLS)
        limit = prices[symbol] if n % 2 else None
        # A distinct quantity per order, so that the duplicate guard lets every one through.
        specs.append(an_order(OPEN_ORDERS + n, rng.choice(STRATEGIES), symbol, rng.choice(list(Side)),
                              n + 1, limit).spec)
    return manager, prices, specs


def main() -> None:
    manager, _, specs = build(random.Random(7))
    warm_up, measured = specs[:WARM_UP], specs[WARM_UP:]
    for spec in warm_up:
        manager.check(spec)
    started = time.process_time()
    denials = sum(manager.check(spec) is not None for spec in measured)
    elapsed = time.process_time() - started
    assert denials == 0, "every order must pass, or the later checks are not measured"
    print(f"{len(measured)} orders through all checks, portfolio of {POSITIONS} positions and "
          f"{OPEN_ORDERS} open orders: {elapsed / len(measured) * 1e6:.1f} µs per order")


if __name__ == "__main__":
    main()
