"""The in-memory book: per strategy, per account, loading and repairs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution_server.domain.orders import Side
from execution_server.domain.positions import InvalidPositionFill, Position
from execution_server.positions.tracker import AccountMismatch, PositionBook, PositionTracker, coerce_side

D = Decimal


def test_a_fill_moves_the_strategy_and_the_account_and_returns_both() -> None:
    book = PositionBook()
    strategy, account = book.apply_fill("momentum_v1", "AAPL", Side.BUY, D(10), D(100))
    assert strategy == Position("AAPL", D(10), D(100), D(0))
    assert account == Position("AAPL", D(10), D(100), D(0))
    assert book.get("momentum_v1", "AAPL") == strategy and book.account("AAPL") == account


def test_opposite_strategies_net_to_a_flat_account_that_realised_the_spread() -> None:
    book = PositionBook()
    book.apply_fill("long_one", "AAPL", Side.BUY, D(10), D(100))
    short, account = book.apply_fill("short_one", "AAPL", Side.SELL, D(10), D(110))
    assert short == Position("AAPL", D(-10), D(110), D(0))
    assert book.get("long_one", "AAPL") == Position("AAPL", D(10), D(100), D(0))
    # The broker saw a buy at 100 and a sell at 110: flat, 100 realised.
    assert account == Position("AAPL", D(0), None, D(100))


def test_the_account_average_comes_from_the_account_fill_sequence() -> None:
    book = PositionBook()
    book.apply_fill("a", "AAPL", Side.BUY, D(10), D(100))
    book.apply_fill("b", "AAPL", Side.SELL, D(4), D(120))  # account sells 4 of its 10 @ 100
    book.apply_fill("b", "AAPL", Side.SELL, D(2), D(90))
    assert book.account("AAPL") == Position("AAPL", D(4), D(100), D(60))  # 80 - 20
    assert book.get("b", "AAPL") == Position("AAPL", D(-6), D(110), D(0))  # (480 + 180) / 6


def test_an_invalid_fill_changes_neither_the_strategy_nor_the_account() -> None:
    book = PositionBook()
    book.apply_fill("a", "AAPL", Side.BUY, D(10), D(100))
    with pytest.raises(InvalidPositionFill):
        book.apply_fill("a", "AAPL", Side.SELL, D(5), D(0))
    assert book.get("a", "AAPL").quantity == D(10) and book.account("AAPL").quantity == D(10)


def test_an_invalid_first_fill_leaves_no_trace_of_the_strategy() -> None:
    book = PositionBook()
    with pytest.raises(InvalidPositionFill):
        book.apply_fill("new", "AAPL", Side.BUY, D(0), D(100))
    assert book.strategy_ids() == [] and book.account_positions() == []


def test_unknown_positions_read_as_flat() -> None:
    book = PositionBook()
    assert book.get("nobody", "AAPL") == Position.flat("AAPL")
    assert book.account("AAPL") == Position.flat("AAPL")
    assert book.strategy_positions("nobody") == [] and book.account_positions() == []


def test_listings_are_sorted_by_symbol_and_keep_flat_positions_with_their_pnl() -> None:
    book = PositionBook()
    book.apply_fill("a", "MSFT", Side.BUY, D(1), D(300))
    book.apply_fill("a", "AAPL", Side.BUY, D(1), D(100))
    book.apply_fill("a", "AAPL", Side.SELL, D(1), D(101))
    assert [p.symbol for p in book.strategy_positions("a")] == ["AAPL", "MSFT"]
    assert book.account_positions()[0] == Position("AAPL", D(0), None, D(1))
    assert book.account_quantities() == {"AAPL": D(0), "MSFT": D(1)}


def test_loading_strategies_then_accounts_rebuilds_the_book() -> None:
    book = PositionBook()
    book.set("a", "AAPL", Position("AAPL", D(10), D(100), D(5)))
    book.set("b", "AAPL", Position("AAPL", D(-4), D(120), D(0)))
    assert book.account("AAPL").quantity == D(6)
    book.set_account("AAPL", Position("AAPL", D(6), D(100), D(80)))
    assert book.account("AAPL") == Position("AAPL", D(6), D(100), D(80))
    assert book.strategy_ids() == ["a", "b"]


def test_an_account_position_that_is_not_the_strategies_sum_is_refused() -> None:
    book = PositionBook()
    book.set("a", "AAPL", Position("AAPL", D(10), D(100), D(0)))
    with pytest.raises(AccountMismatch) as refused:
        book.set_account("AAPL", Position("AAPL", D(11), D(100), D(0)))
    assert (refused.value.account_quantity, refused.value.strategies_quantity) == (D(11), D(10))
    assert book.account("AAPL").quantity == D(10)


def test_a_repair_keeps_the_account_realised_pnl_and_moves_its_quantity() -> None:
    book = PositionBook()
    book.apply_fill("a", "AAPL", Side.BUY, D(10), D(100))
    book.apply_fill("a", "AAPL", Side.SELL, D(5), D(110))
    account = book.set("a", "AAPL", Position("AAPL", D(8), D(100), D(50)))
    assert account == Position("AAPL", D(8), D(100), D(50))


def test_setting_a_position_that_turns_the_account_around_takes_an_average_from_its_side() -> None:
    book = PositionBook()
    book.apply_fill("a", "AAPL", Side.BUY, D(10), D(100))
    book.apply_fill("b", "AAPL", Side.SELL, D(10), D(110))  # account flat
    account = book.set("b", "AAPL", Position.flat("AAPL"))  # only a's long is left
    assert (account.quantity, account.average_entry_price) == (D(10), D(100))


def listed(book: PositionBook) -> tuple[list[Position], dict[str, list[Position]]]:
    """Everything the book lists: what GetPositions would answer, for the account and each strategy."""
    return book.account_positions(), {s: book.strategy_positions(s) for s in book.strategy_ids()}


def test_an_adjustment_that_would_break_the_account_sum_changes_nothing() -> None:
    book = PositionBook()
    book.apply_fill("momentum_v1", "AAPL", Side.BUY, D(10), D(100))
    before = listed(book)
    with pytest.raises(AccountMismatch):
        book.adjust("external", "AAPL", Position("AAPL", D(5), D(100)), Position("AAPL", D(16), D(100)))
    assert listed(book) == before


def test_an_adjustment_moves_the_strategy_and_gives_the_account_its_values() -> None:
    book = PositionBook()
    book.apply_fill("momentum_v1", "AAPL", Side.BUY, D(10), D(100))
    book.adjust("external", "AAPL", Position("AAPL", D(5), D(90)), Position("AAPL", D(15), D(95)))
    assert book.get("external", "AAPL") == Position("AAPL", D(5), D(90))
    assert book.account("AAPL") == Position("AAPL", D(15), D(95))


def test_a_restore_point_puts_back_positions_that_did_not_exist_as_absent() -> None:
    book = PositionBook()
    book.apply_fill("momentum_v1", "AAPL", Side.BUY, D(10), D(100))
    before = listed(book)
    restore = book.restore_point("external", "MSFT")
    book.adjust("external", "MSFT", Position("MSFT", D(5), D(90)), Position("MSFT", D(5), D(90)))
    restore()
    assert listed(book) == before  # no flat MSFT line, no strategy "external"


def test_a_restore_point_puts_back_positions_that_existed() -> None:
    book = PositionBook()
    book.apply_fill("external", "AAPL", Side.BUY, D(3), D(80))
    book.apply_fill("momentum_v1", "AAPL", Side.BUY, D(10), D(100))
    before = listed(book)
    restore = book.restore_point("external", "AAPL")
    book.adjust("external", "AAPL", Position("AAPL", D(7), D(80)), Position("AAPL", D(17), D(95)))
    restore()
    assert listed(book) == before


def test_a_position_set_under_another_symbol_is_refused() -> None:
    with pytest.raises(ValueError):
        PositionBook().set("a", "AAPL", Position.flat("MSFT"))


@pytest.mark.parametrize("spelling", ["BUY", "buy", " Buy "])
def test_the_usual_spellings_of_a_side_are_accepted(spelling: str) -> None:
    assert coerce_side(spelling) is Side.BUY


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # alpaca-py imports websockets.legacy
def test_alpaca_order_side_is_accepted() -> None:
    from alpaca.trading.enums import OrderSide

    assert coerce_side(OrderSide.SELL) is Side.SELL


def test_a_misspelt_side_is_refused() -> None:
    with pytest.raises(ValueError):
        coerce_side("HOLD")


def test_the_tracker_lists_account_positions_or_a_strategy_s() -> None:
    tracker = PositionTracker()
    tracker.apply_fill("a", "AAPL", "BUY", D(3), D(10))
    tracker.apply_fill("b", "AAPL", "BUY", D(1), D(14))
    assert tracker.positions() == [Position("AAPL", D(4), D(11), D(0))]
    assert tracker.positions("b") == [Position("AAPL", D(1), D(14), D(0))]
