"""Invariants of positions, one sentence each, over random fills."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.domain import pnl
from execution_server.domain.money import AVERAGE_SCALE
from execution_server.domain.orders import Side
from execution_server.domain.positions import Position, apply_fill, unrealized_pnl
from execution_server.positions.tracker import PositionBook

SYMBOLS = ["AAPL", "MSFT", "SPY"]
STRATEGIES = ["momentum_v1", "mean_rev", "pairs"]

# Averages are rounded to AVERAGE_SCALE places (money.average); each rounding errs by at most
# half a unit of that place per unit held after it. At most 60 fills of at most 500 each hold
# at most 30,000: 60 roundings of 30,000 units bound the drift.
TOLERANCE = 60 * 30_000 * Decimal(f"0.5e-{AVERAGE_SCALE}")

quantities = st.integers(min_value=1, max_value=5_000).map(lambda n: Decimal(n) / 10)  # 0.1 .. 500
prices = st.integers(min_value=1, max_value=1_000_000).map(lambda n: Decimal(n) / 100)  # 0.01 .. 10000
sides = st.sampled_from([Side.BUY, Side.SELL])
fill = st.tuples(sides, quantities, prices)
book_fill = st.tuples(st.sampled_from(STRATEGIES), st.sampled_from(SYMBOLS), sides, quantities, prices)


def cash_flow_pnl(steps: list[tuple[Side, Decimal, Decimal]], mark: Decimal) -> Decimal:
    """P&L from money alone: sells bring cash, buys cost it, the holding is worth mark each."""
    cash = Decimal(0)
    held = Decimal(0)
    for side, quantity, price in steps:
        signed = quantity if side is Side.BUY else quantity.copy_negate()
        cash = pnl.WIDE.subtract(cash, pnl.WIDE.multiply(signed, price))
        held = pnl.WIDE.add(held, signed)
    return pnl.WIDE.add(cash, pnl.WIDE.multiply(held, mark))


@settings(max_examples=300)
@given(steps=st.lists(fill, min_size=1, max_size=40), mark=prices)
def test_realised_plus_unrealised_equals_the_cash_flow_pnl_at_any_price(
    steps: list[tuple[Side, Decimal, Decimal]], mark: Decimal
) -> None:
    position = Position.flat("AAPL")
    for side, quantity, price in steps:
        position = apply_fill(position, side, quantity, price)
    total = pnl.WIDE.add(position.realized_pnl, unrealized_pnl(position, mark))
    assert abs(pnl.WIDE.subtract(total, cash_flow_pnl(steps, mark))) < TOLERANCE


@settings(max_examples=300)
@given(steps=st.lists(fill, min_size=1, max_size=40))
def test_the_quantity_is_the_signed_sum_of_the_fills_and_flat_exactly_without_average(
    steps: list[tuple[Side, Decimal, Decimal]],
) -> None:
    position = Position.flat("AAPL")
    for side, quantity, price in steps:
        position = apply_fill(position, side, quantity, price)
    assert position.quantity == sum((q if s is Side.BUY else -q for s, q, _ in steps), Decimal(0))
    assert (position.average_entry_price is None) == (position.quantity == 0)


@settings(max_examples=200)
@given(steps=st.lists(book_fill, min_size=1, max_size=60))
def test_the_account_position_is_the_sum_of_the_strategies(
    steps: list[tuple[str, str, Side, Decimal, Decimal]],
) -> None:
    book = PositionBook()
    for strategy_id, symbol, side, quantity, price in steps:
        book.apply_fill(strategy_id, symbol, side, quantity, price)
    for symbol in SYMBOLS:
        strategies = sum((book.get(s, symbol).quantity for s in STRATEGIES), Decimal(0))
        assert book.account(symbol).quantity == strategies


@settings(max_examples=200)
@given(steps=st.lists(book_fill, min_size=1, max_size=60), mark=prices)
def test_the_account_pnl_is_that_of_the_account_fill_sequence(
    steps: list[tuple[str, str, Side, Decimal, Decimal]], mark: Decimal
) -> None:
    book = PositionBook()
    per_symbol: dict[str, list[tuple[Side, Decimal, Decimal]]] = defaultdict(list)
    for strategy_id, symbol, side, quantity, price in steps:
        book.apply_fill(strategy_id, symbol, side, quantity, price)
        per_symbol[symbol].append((side, quantity, price))
    for symbol, symbol_steps in per_symbol.items():
        account = book.account(symbol)
        total = pnl.WIDE.add(account.realized_pnl, unrealized_pnl(account, mark))
        assert abs(pnl.WIDE.subtract(total, cash_flow_pnl(symbol_steps, mark))) < TOLERANCE
