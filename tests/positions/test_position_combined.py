"""Several strategies' positions summed into one (a strategy token's GetPositions): one
sentence each, over random positions."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.domain import pnl
from execution_server.domain.money import AVERAGE_SCALE
from execution_server.domain.positions import Position, combined, unrealized_pnl

quantities = st.integers(min_value=-5_000, max_value=5_000).map(lambda n: Decimal(n) / 10)
prices = st.integers(min_value=1, max_value=1_000_000).map(lambda n: Decimal(n) / 100)
realised = st.integers(min_value=-10**8, max_value=10**8).map(lambda n: Decimal(n) / 100)


@st.composite
def positions(draw) -> Position:  # type: ignore[no-untyped-def]
    quantity = draw(quantities)
    average = None if quantity == 0 else draw(prices)
    return Position("AAPL", quantity, average, draw(realised))


# One rounding of the average (money.average), of at most 10 × 500 units held.
TOLERANCE = 10 * 500 * Decimal(f"0.5e-{AVERAGE_SCALE}")


def _total(position: Position, mark: Decimal) -> Decimal:
    return pnl.add(position.realized_pnl, unrealized_pnl(position, mark))


@settings(max_examples=500)
@given(parts=st.lists(positions(), min_size=1, max_size=10), mark=prices)
def test_the_sum_s_realised_plus_unrealised_is_the_parts_at_any_mark(parts: list[Position], mark: Decimal) -> None:
    summed = combined("AAPL", parts)
    expected = sum((_total(part, mark) for part in parts), Decimal(0))
    assert abs(pnl.subtract(_total(summed, mark), expected)) <= TOLERANCE


@settings(max_examples=300)
@given(parts=st.lists(positions(), min_size=1, max_size=10))
def test_the_quantity_is_the_signed_sum_and_the_average_is_between_the_prices_of_its_side(parts: list[Position]) -> None:
    summed = combined("AAPL", parts)
    assert summed.quantity == sum((part.quantity for part in parts), Decimal(0))
    if summed.is_flat:
        assert summed.average_entry_price is None
        return
    side = [p.average_entry_price for p in parts if not p.is_flat and (p.quantity > 0) == (summed.quantity > 0)]
    assert min(side) <= summed.average_entry_price <= max(side)


@settings(max_examples=300)
@given(parts=st.lists(positions().filter(lambda p: p.quantity >= 0), min_size=1, max_size=10))
def test_positions_on_one_side_sum_their_realised_pnl_exactly(parts: list[Position]) -> None:
    assert combined("AAPL", parts).realized_pnl == sum((part.realized_pnl for part in parts), Decimal(0))


def test_a_long_and_a_short_net_and_realise_what_the_netting_locks_in() -> None:
    long = Position("AAPL", Decimal("10"), Decimal("100"), Decimal("0"))
    short = Position("AAPL", Decimal("-4"), Decimal("110"), Decimal("5"))
    summed = combined("AAPL", [long, short])
    # 6 long at the long's 100; the 4 netted were sold at 110 and bought at 100: 40 realised.
    assert summed == Position("AAPL", Decimal("6"), Decimal("100"), Decimal("45"))


def test_a_single_position_is_itself() -> None:
    position = Position("AAPL", Decimal("-3"), Decimal("187.25"), Decimal("12.5"))
    assert combined("AAPL", [position]) == position
