"""Within the declared precision (domain.money: what the API accepts), fills and positions maths
is exact, one sentence each. Every property runs with Inexact trapped: a result rounded anywhere
but in the one declared rounding of averages would raise, not pass unnoticed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, Inexact, localcontext

from hypothesis import example, given, settings
from hypothesis import strategies as st

from execution_server.brokers.simulated import MatchingEngine
from execution_server.brokers.simulated.facts import Filled
from execution_server.domain.money import AVERAGE_SCALE, MAX_INTEGER_DIGITS, MAX_SCALE
from execution_server.domain.orders import Side
from execution_server.domain.positions import unrealized_pnl
from execution_server.positions.tracker import PositionBook
from execution_server.risk.portfolio import PortfolioView
from tests.builders import a_spec, an_order

AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
STRATEGIES = ["momentum_v1", "mean_rev", "pairs"]


def accepted(integer_digits: int = MAX_INTEGER_DIGITS) -> st.SearchStrategy[Decimal]:
    """Positive values with at most `integer_digits` before the point and MAX_SCALE after,
    built from text (exact whatever the context)."""
    return st.integers(0, MAX_SCALE).flatmap(
        lambda scale: st.integers(1, 10 ** (integer_digits + scale) - 1).map(lambda n: Decimal(f"{n}e-{scale}"))
    )


@contextmanager
def nothing_rounded() -> Iterator[None]:
    with localcontext() as context:
        context.traps[Inexact] = True
        yield


@settings(max_examples=200, deadline=None)
@given(
    quantity=accepted(),
    caps=st.lists(st.tuples(accepted(), accepted()), max_size=6),
    last_price=accepted(),
)
@example(Decimal("123456789012345678901234.123456789012"), [], Decimal(100))
@example(Decimal("10000000000000000.000000000001"), [(Decimal("0.000000000001"), Decimal(100))], Decimal(100))
def test_the_fills_of_an_order_at_the_simulated_broker_sum_exactly_to_its_quantity(
    quantity: Decimal, caps: list[tuple[Decimal, Decimal]], last_price: Decimal
) -> None:
    """Partial fills (a price capped at an available quantity) then the rest: the order is
    FILLED with exactly its quantity, and the broker's position and cash follow exactly."""
    with nothing_rounded():
        engine = MatchingEngine(starting_cash=Decimal(0))
        facts = [*engine.set_price("AAPL", Decimal(1), Decimal(0), AT), *engine.submit(a_spec(quantity=quantity), AT)]
        for price, available in caps:
            facts += engine.set_price("AAPL", price, available, AT)
        facts += engine.set_price("AAPL", last_price, None, AT)
        fills = [fact for fact in facts if isinstance(fact, Filled)]
        order = engine.ledger.orders["sim-1"]

        assert sum((fill.quantity for fill in fills), Decimal(0)) == order.filled_quantity == quantity
        assert order.broker_status == "filled" and [f.cumulative_quantity for f in fills][-1] == quantity
        assert engine.ledger.positions["AAPL"][0] == quantity
        assert engine.ledger.cash == -sum((fill.quantity * fill.price for fill in fills), Decimal(0))


signed_fills = st.lists(
    st.tuples(st.sampled_from(STRATEGIES), st.sampled_from(Side), accepted(), accepted()), min_size=1, max_size=30
)


@settings(max_examples=200, deadline=None)
@given(steps=signed_fills, mark=accepted())
def test_positions_are_exactly_the_signed_sums_of_the_fills(
    steps: list[tuple[str, Side, Decimal, Decimal]], mark: Decimal
) -> None:
    """In the position book and in the risk portfolio: each strategy's quantity is the signed
    sum of its fills, the account's the sum of all, and the day's P&L is the cash flow plus the
    holding at the mark, to the last digit."""
    book, portfolio = PositionBook(), PortfolioView()
    held: dict[str, Decimal] = defaultdict(Decimal)
    with nothing_rounded():
        cash = Decimal(0)
        for index, (strategy_id, side, quantity, price) in enumerate(steps):
            signed = quantity if side is Side.BUY else -quantity
            book.apply_fill(strategy_id, "AAPL", side, quantity, price)
            order = an_order(order_id=f"o-{index}", strategy_id=strategy_id, side=side, quantity=quantity)
            portfolio.order_filled(order, quantity, price)
            held[strategy_id] += signed
            cash -= signed * price
        portfolio.on_price("AAPL", mark)
        total = sum(held.values(), Decimal(0))

        for strategy_id in STRATEGIES:
            assert book.get(strategy_id, "AAPL").quantity == held[strategy_id]
            assert portfolio.position(strategy_id, "AAPL").quantity == held[strategy_id]
        assert book.account("AAPL").quantity == portfolio.position(None, "AAPL").quantity == total
        assert portfolio.exposure().day_pnl == cash + total * mark


@settings(max_examples=200, deadline=None)
@given(steps=signed_fills, mark=accepted())
def test_realised_plus_unrealised_is_the_cash_flow_pnl_but_for_the_declared_rounding_of_averages(
    steps: list[tuple[str, Side, Decimal, Decimal]], mark: Decimal
) -> None:
    """The only rounding in a position is its average, to AVERAGE_SCALE places (half a unit of
    the last place at most); each rounding errs by at most that per unit held after it."""
    book = PositionBook()
    with nothing_rounded():
        cash, held, bound = Decimal(0), Decimal(0), Decimal(0)
        for strategy_id, side, quantity, price in steps:
            book.apply_fill(strategy_id, "AAPL", side, quantity, price)
            held += quantity if side is Side.BUY else -quantity
            cash -= (quantity if side is Side.BUY else -quantity) * price
            bound += abs(held) * Decimal(f"0.5e-{AVERAGE_SCALE}")
        account = book.account("AAPL")
        assert abs(account.realized_pnl + unrealized_pnl(account, mark) - (cash + held * mark)) <= bound
