"""Average-cost position maths against figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution_server.domain.money import AVERAGE_SCALE
from execution_server.domain.orders import Side
from execution_server.domain.positions import (
    InvalidPositionFill,
    Position,
    adjusted_to,
    apply_fill,
    unrealized_pnl,
)

BUY, SELL = Side.BUY, Side.SELL
D = Decimal


def fills(*steps: tuple[Side, str, str], start: Position | None = None) -> list[Position]:
    """Every intermediate position of a fill sequence, starting flat."""
    position = start or Position.flat("AAPL")
    seen = []
    for side, quantity, price in steps:
        position = apply_fill(position, side, D(quantity), D(price))
        seen.append(position)
    return seen


def state(position: Position) -> tuple[Decimal, Decimal | None, Decimal]:
    return position.quantity, position.average_entry_price, position.realized_pnl


def test_buys_at_different_prices_average_by_quantity() -> None:
    *_, last = fills((BUY, "100", "10"), (BUY, "50", "13"))
    # (100 × 10 + 50 × 13) / 150 = 1650 / 150 = 11
    assert state(last) == (D(150), D(11), D(0))


def test_a_hand_computed_sequence_of_buys_partial_sells_a_flip_and_a_cover() -> None:
    steps = [
        (BUY, "100", "10"),  # long 100 @ 10
        (BUY, "50", "13"),  # long 150 @ 11
        (SELL, "60", "12"),  # realise (12 - 11) × 60 = 60
        (SELL, "30", "10.5"),  # realise (10.5 - 11) × 30 = -15 → 45
        (SELL, "100", "9"),  # close 60: (9 - 11) × 60 = -120 → -75; short 40 @ 9
        (SELL, "10", "8"),  # short 50 @ (40 × 9 + 10 × 8) / 50 = 8.8
        (BUY, "20", "8.3"),  # cover 20: (8.8 - 8.3) × 20 = 10 → -65
        (BUY, "30", "9"),  # cover 30: (8.8 - 9) × 30 = -6 → -71, flat
    ]
    expected = [
        (D(100), D(10), D(0)),
        (D(150), D(11), D(0)),
        (D(90), D(11), D(60)),
        (D(60), D(11), D(45)),
        (D(-40), D(9), D(-75)),
        (D(-50), D("8.8"), D(-75)),
        (D(-30), D("8.8"), D(-65)),
        (D(0), None, D(-71)),
    ]
    assert [state(p) for p in fills(*steps)] == expected


def test_the_final_realised_pnl_equals_the_cash_flow_of_a_round_trip() -> None:
    *_, last = fills((BUY, "100", "10"), (BUY, "50", "13"), (SELL, "60", "12"), (SELL, "90", "10"))
    # cash: -1000 - 650 + 720 + 900 = -30
    assert last.is_flat and last.realized_pnl == D(-30)


def test_a_buy_through_zero_covers_the_short_and_opens_a_long_at_the_fill_price() -> None:
    *_, last = fills((SELL, "40", "9"), (BUY, "100", "8"))
    # cover 40 at 8 against 9: +40; long 60 @ 8
    assert state(last) == (D(60), D(8), D(40))


def test_a_sell_of_exactly_the_holding_leaves_a_flat_position_without_average() -> None:
    *_, last = fills((BUY, "10", "100"), (SELL, "10", "101.5"))
    assert state(last) == (D(0), None, D(15))


def test_reopening_after_flat_starts_a_new_average_and_keeps_realised() -> None:
    *_, last = fills((BUY, "10", "100"), (SELL, "10", "90"), (BUY, "5", "50"))
    assert state(last) == (D(5), D(50), D(-100))


def test_a_recurring_average_is_rounded_half_even_to_the_declared_scale_and_nothing_else_rounds() -> None:
    *_, held, last = fills((BUY, "1", "100"), (BUY, "2", "101"), (SELL, "3", "102"))
    assert held.average_entry_price == D("100.666666666666666666666667")  # 302 / 3 to AVERAGE_SCALE places
    assert held.average_entry_price.as_tuple().exponent == -AVERAGE_SCALE
    assert last.realized_pnl == D("3.999999999999999999999999")  # 3 × (102 − that average), exactly


def test_sub_cent_prices_and_fractional_quantities_are_exact() -> None:
    *_, last = fills((BUY, "0.001", "12345.6789"), (SELL, "0.0005", "12345.6799"))
    assert state(last) == (D("0.0005"), D("12345.6789"), D("0.0000005"))


def test_averages_carry_no_exponent_notation() -> None:
    *_, last = fills((BUY, "10", "100.00"), (BUY, "10", "100"))
    assert str(last.average_entry_price) == "100"


def test_unrealised_pnl_of_a_short_gains_when_the_price_falls() -> None:
    *_, short = fills((SELL, "10", "50"))
    assert unrealized_pnl(short, D(45)) == D(50)
    assert unrealized_pnl(Position.flat("AAPL"), D(45)) == D(0)


def test_adjusted_to_keeps_realised_pnl() -> None:
    *_, position = fills((BUY, "10", "100"), (SELL, "5", "110"))
    adjusted = adjusted_to(position, D(-3), D(120))
    assert state(adjusted) == (D(-3), D(120), D(50))


def test_adjusted_to_zero_drops_the_average() -> None:
    *_, position = fills((BUY, "10", "100"))
    assert adjusted_to(position, D(0), D(100)).average_entry_price is None


def test_adjusted_to_a_holding_without_average_is_refused() -> None:
    with pytest.raises(ValueError, match="average"):
        adjusted_to(Position.flat("AAPL"), D(5), None)


@pytest.mark.parametrize(
    ("quantity", "price"),
    [(D(0), D(10)), (D(-1), D(10)), (D(1), D(0)), (D(1), D(-5)), (D("NaN"), D(1)), (D(1), D("Infinity"))],
)
def test_a_fill_without_positive_quantity_and_price_is_refused(quantity: Decimal, price: Decimal) -> None:
    with pytest.raises(InvalidPositionFill):
        apply_fill(Position.flat("AAPL"), BUY, quantity, price)


def test_a_float_on_the_path_of_money_is_refused() -> None:
    with pytest.raises(InvalidPositionFill, match="Decimal"):
        apply_fill(Position.flat("AAPL"), BUY, D(1), 187.25)  # type: ignore[arg-type]


def test_a_position_cannot_hold_quantity_without_an_average() -> None:
    with pytest.raises(ValueError):
        Position("AAPL", D(5), None)
    with pytest.raises(ValueError):
        Position("AAPL", D(0), D(10))
