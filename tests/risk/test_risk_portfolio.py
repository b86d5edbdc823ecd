"""The portfolio view: each OMS event moves the books it should, and the running totals
always equal what a scan from scratch would find."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.domain.money import AVERAGE_SCALE
from execution_server.domain.orders import Side
from execution_server.risk.portfolio import PortfolioView
from tests.risk.risk_builders import BUY, SELL, D, an_order


def priced(**prices: object) -> PortfolioView:
    portfolio = PortfolioView()
    for symbol, price in prices.items():
        portfolio.on_price(symbol, D(price))
    return portfolio


def test_an_opened_order_reserves_its_remainder_on_its_side() -> None:
    portfolio = priced(AAPL=100)
    portfolio.order_opened(an_order(side=SELL, quantity=5))
    position = portfolio.position("alpha", "AAPL")
    assert (position.open_buy_quantity, position.open_sell_quantity) == (0, 5)
    assert portfolio.totals("alpha").open_orders == 1
    assert portfolio.account.open_orders == 1


def test_opening_the_same_order_twice_reserves_it_once() -> None:
    portfolio = priced(AAPL=100)
    order = an_order(quantity=5)
    portfolio.order_opened(order)
    portfolio.order_opened(order)
    assert portfolio.position("alpha", "AAPL").open_buy_quantity == 5


def test_a_fill_moves_the_remainder_into_the_position() -> None:
    portfolio = priced(AAPL=100)
    order = an_order(quantity=10)
    portfolio.order_opened(order)
    portfolio.order_filled(order, D(4), D(100))
    position = portfolio.position("alpha", "AAPL")
    assert (position.quantity, position.open_buy_quantity) == (4, 6)
    assert portfolio.position(None, "AAPL").quantity == 4


def test_the_last_fill_closes_the_order_and_a_later_close_changes_nothing() -> None:
    portfolio = priced(AAPL=100)
    order = an_order(quantity=10)
    portfolio.order_opened(order)
    portfolio.order_filled(order, D(10), D(100))
    assert portfolio.totals("alpha").open_orders == 0
    portfolio.order_closed(order.filled(D(10), D(100), order.created_at))
    assert portfolio.totals("alpha").open_orders == 0
    assert portfolio.position("alpha", "AAPL").quantity == 10


def test_a_cancel_releases_the_open_remainder() -> None:
    portfolio = priced(AAPL=100)
    order = an_order(quantity=10)
    portfolio.order_opened(order)
    portfolio.order_filled(order, D(3), D(100))
    portfolio.order_closed(order)
    position = portfolio.position("alpha", "AAPL")
    assert (position.quantity, position.open_buy_quantity) == (3, 0)
    assert portfolio.exposure("alpha").gross == 300


def test_a_fill_that_raced_the_cancel_still_moves_the_position() -> None:
    portfolio = priced(AAPL=100)
    order = an_order(quantity=10)
    portfolio.order_opened(order)
    portfolio.order_closed(order)
    portfolio.order_filled(order, D(2), D(100))
    position = portfolio.position("alpha", "AAPL")
    assert (position.quantity, position.open_buy_quantity) == (2, 0)


def test_realised_pnl_follows_the_average_cost_through_a_reversal() -> None:
    portfolio = priced(AAPL=100)
    buy, sell = an_order(side=BUY, quantity=10), an_order(side=SELL, quantity=14)
    portfolio.order_filled(buy, D(10), D(100))
    portfolio.order_filled(sell, D(4), D(110))  # +40
    portfolio.order_filled(sell, D(10), D(90))  # 6 closed at -10: -60; 4 short opened at 90
    position = portfolio.position("alpha", "AAPL")
    assert (position.quantity, position.average_price, position.realized_pnl) == (-4, 90, -20)
    assert portfolio.position(None, "AAPL").realized_pnl == -20


def test_day_pnl_is_realised_plus_unrealised_from_the_opening_marks() -> None:
    portfolio = priced(AAPL=100)
    portfolio.order_filled(an_order(side=BUY, quantity=10), D(10), D(100))
    portfolio.start_new_day()
    portfolio.on_price("AAPL", D(105))  # +50 unrealised
    portfolio.order_filled(an_order(side=SELL, quantity=4), D(4), D(106))  # +4 over the mark
    portfolio.on_price("AAPL", D(103))
    assert portfolio.exposure("alpha").day_pnl == 6 * 3 + 4 * 6
    assert portfolio.exposure().day_pnl == 42


def test_a_reconciliation_repair_is_not_profit_or_loss() -> None:
    portfolio = priced(AAPL=100)
    portfolio.position_adjusted("alpha", "AAPL", D(50), D(80))
    assert portfolio.exposure("alpha").day_pnl == 0
    assert portfolio.position("alpha", "AAPL").average_price == 80
    portfolio.on_price("AAPL", D(101))
    assert portfolio.exposure("alpha").day_pnl == 50


def test_a_position_first_seen_at_reconciliation_is_marked_at_its_average_price() -> None:
    portfolio = PortfolioView()
    portfolio.position_adjusted("alpha", "AAPL", D(-5), D(80))
    assert portfolio.mark("AAPL") == 80
    assert portfolio.exposure().gross == 400


# --- the running totals against a scan from scratch ---

STRATEGIES, SYMBOLS = ("a", "b"), ("X", "Y", "Z")

events = st.lists(
    st.one_of(
        st.tuples(st.just("open"), st.sampled_from(STRATEGIES), st.sampled_from(SYMBOLS),
                  st.sampled_from(list(Side)), st.integers(1, 50)),
        st.tuples(st.just("fill"), st.integers(0, 40), st.integers(1, 4), st.integers(50, 150)),
        st.tuples(st.just("close"), st.integers(0, 40)),
        st.tuples(st.just("price"), st.sampled_from(SYMBOLS), st.integers(1, 300)),
        st.tuples(st.just("adjust"), st.sampled_from(STRATEGIES), st.sampled_from(SYMBOLS), st.integers(-60, 60)),
        st.tuples(st.just("new_day")),
    ),
    max_size=60,
)


class Scratch:
    """The same numbers as the portfolio, kept the slow and obvious way."""

    def __init__(self) -> None:
        self.marks = {s: Decimal(100) for s in SYMBOLS}
        self.position = {(t, s): Decimal(0) for t in STRATEGIES for s in SYMBOLS}
        self.remaining: dict[str, Decimal] = {}  # open orders only
        self.orders: list = []
        self.pnl_base = {t: Decimal(0) for t in STRATEGIES}  # cash − opening value − repairs
        self.day_cash = {t: Decimal(0) for t in STRATEGIES}  # the day's sells minus buys

    def open_remainder(self, strategy: str, symbol: str, side: Side) -> Decimal:
        return sum((r for o in self.orders if (r := self.remaining.get(o.order_id)) is not None
                    and (o.strategy_id, o.symbol, o.side) == (strategy, symbol, side)), Decimal(0))

    def gross(self, strategies: tuple[str, ...]) -> Decimal:
        total = Decimal(0)
        for symbol in SYMBOLS:
            q = sum((self.position[t, symbol] for t in strategies), Decimal(0))
            buy = sum((self.open_remainder(t, symbol, Side.BUY) for t in strategies), Decimal(0))
            sell = sum((self.open_remainder(t, symbol, Side.SELL) for t in strategies), Decimal(0))
            total += max(abs(q + buy), abs(q - sell)) * self.marks[symbol]
        return total

    def value(self, strategy: str) -> Decimal:
        return sum((self.position[strategy, s] * self.marks[s] for s in SYMBOLS), Decimal(0))


def apply(event: tuple, portfolio: PortfolioView, scratch: Scratch) -> None:
    kind = event[0]
    if kind == "open":
        _, strategy, symbol, side, quantity = event
        order = an_order(strategy=strategy, symbol=symbol, side=side, quantity=quantity)
        scratch.orders.append(order)
        scratch.remaining[order.order_id] = Decimal(quantity)
        portfolio.order_opened(order)
    elif kind == "fill" and scratch.orders:
        _, index, quarters, price = event
        order = scratch.orders[index % len(scratch.orders)]
        quantity = order.quantity * quarters / 4
        left = scratch.remaining.get(order.order_id)
        if left is not None:
            left -= min(quantity, left)
            if left:
                scratch.remaining[order.order_id] = left
            else:
                del scratch.remaining[order.order_id]
        scratch.position[order.strategy_id, order.symbol] += order.side.sign * quantity
        scratch.pnl_base[order.strategy_id] -= order.side.sign * quantity * price
        scratch.day_cash[order.strategy_id] -= order.side.sign * quantity * price
        portfolio.order_filled(order, quantity, Decimal(price))
    elif kind == "close" and scratch.orders:
        order = scratch.orders[event[1] % len(scratch.orders)]
        scratch.remaining.pop(order.order_id, None)
        portfolio.order_closed(order)
    elif kind == "price":
        scratch.marks[event[1]] = Decimal(event[2])
        portfolio.on_price(event[1], Decimal(event[2]))
    elif kind == "adjust":
        _, strategy, symbol, quantity = event
        change = quantity - scratch.position[strategy, symbol]
        scratch.position[strategy, symbol] = Decimal(quantity)
        scratch.pnl_base[strategy] -= change * scratch.marks[symbol]
        portfolio.position_adjusted(strategy, symbol, Decimal(quantity), Decimal(90))
    elif kind == "new_day":
        for strategy in STRATEGIES:
            scratch.pnl_base[strategy] = -scratch.value(strategy)
            scratch.day_cash[strategy] = Decimal(0)
        portfolio.start_new_day()


@settings(max_examples=300, deadline=None)
@given(events)
def test_running_totals_equal_a_scan_from_scratch(sequence: list[tuple]) -> None:
    portfolio, scratch = priced(X=100, Y=100, Z=100), Scratch()
    portfolio.start_new_day()
    for event in sequence:
        apply(event, portfolio, scratch)
        for strategy in STRATEGIES:
            totals = portfolio.totals(strategy)
            assert totals.gross == scratch.gross((strategy,))
            assert totals.position_value == scratch.value(strategy)
            assert totals.day_pnl == scratch.value(strategy) + scratch.pnl_base[strategy]
            assert totals.open_orders == sum(1 for o in scratch.orders
                                             if o.strategy_id == strategy and o.order_id in scratch.remaining)
            for symbol in SYMBOLS:
                position = portfolio.position(strategy, symbol)
                assert position.quantity == scratch.position[strategy, symbol]
                assert position.open_buy_quantity == scratch.open_remainder(strategy, symbol, Side.BUY)
                assert position.open_sell_quantity == scratch.open_remainder(strategy, symbol, Side.SELL)
        assert portfolio.account.gross == scratch.gross(STRATEGIES)
        assert portfolio.account.day_pnl == sum(portfolio.totals(t).day_pnl for t in STRATEGIES)
        assert portfolio.account.realized == sum(portfolio.totals(t).realized for t in STRATEGIES)


@settings(max_examples=300, deadline=None)
@given(events)
def test_a_restart_resumes_the_days_pnl_from_the_saved_openings_and_the_days_fills(sequence: list[tuple]) -> None:
    """After any day of fills, price moves, repairs and day rolls, a portfolio rebuilt as
    start-up does (the positions at today's marks, then the opening values saved for the day
    and the cash of the day's fills) has every strategy's and the account's P&L of the day."""
    before, scratch = priced(X=100, Y=100, Z=100), Scratch()
    before.start_new_day()
    for event in sequence:
        apply(event, before, scratch)

    after = rebuilt(before)
    after.resume_day(before.opening_values(), {t: cash for t, cash in scratch.day_cash.items() if cash})

    for strategy in STRATEGIES:
        assert after.totals(strategy).day_pnl == before.totals(strategy).day_pnl
    assert after.account.day_pnl == before.account.day_pnl


@settings(max_examples=300, deadline=None)
@given(events)
def test_a_restart_resumes_the_days_realised_pnl_from_the_saved_costs_and_the_days_fills(sequence: list[tuple]) -> None:
    """After any day of fills, price moves, repairs and day rolls, a portfolio rebuilt as
    start-up does (the positions at their average prices, then the opening costs saved for the
    day and the cash of the day's fills) has every strategy's and the account's realised P&L of
    the day, to within the rounding of average prices: a rebuilt position's cost basis is its
    quantity × its rounded average (AVERAGE_SCALE places), where the live one kept the exact
    sum. Prices are whole and quantities quarters, so any real error is far larger."""
    before, scratch = priced(X=100, Y=100, Z=100), Scratch()
    before.start_new_day()
    for event in sequence:
        apply(event, before, scratch)

    after = rebuilt(before)
    after.resume_day(before.opening_values(), {t: cash for t, cash in scratch.day_cash.items() if cash},
                     before.opening_costs())

    rounding = Decimal(10) ** -(AVERAGE_SCALE - 6)
    for strategy in [*STRATEGIES, None]:
        assert abs(after.exposure(strategy).realized_pnl - before.exposure(strategy).realized_pnl) <= rounding, strategy


def rebuilt(before: PortfolioView) -> PortfolioView:
    """A portfolio loaded as start-up loads one: the marks, then every position at its average."""
    after = PortfolioView()
    for symbol in SYMBOLS:
        after.on_price(symbol, before.mark(symbol))
    for strategy in STRATEGIES:
        for symbol in SYMBOLS:
            position = before.position(strategy, symbol)
            if position.quantity:
                after.position_adjusted(strategy, symbol, position.quantity, position.average_price)
    return after


def test_a_strategy_flat_now_that_traded_today_keeps_its_days_pnl_over_a_restart() -> None:
    """Bought at 100 and sold at 90 today: flat, no book, 100 lost; a restart still knows."""
    after = PortfolioView()
    after.resume_day({}, {"alpha": D(-100)})
    assert after.exposure("alpha").day_pnl == -100
    assert after.exposure().day_pnl == -100


def everything(portfolio: PortfolioView) -> object:
    """All a reader can see: every line of every scope, the totals and the marks."""
    symbols = sorted(portfolio.symbols())
    scopes = [None, *sorted(portfolio.strategy_ids())]
    return (
        symbols,
        [portfolio.mark(symbol) for symbol in symbols],
        [(scope, portfolio.exposure(scope), [portfolio.position(scope, s) for s in symbols]) for scope in scopes],
        [(scope, portfolio.totals(scope).opening_value, portfolio.totals(scope).day_cash) for scope in scopes],
        [(scope, sorted(portfolio.totals(scope).books)) for scope in scopes],
    )


def test_a_restore_point_undoes_an_adjustment_that_also_set_the_first_mark() -> None:
    portfolio = priced(AAPL=100)
    portfolio.order_filled(an_order(quantity=4), D(4), D(100))
    portfolio.order_opened(an_order(side=SELL, quantity=2, limit=120))
    before = everything(portfolio)
    restore = portfolio.restore_point("external", "MSFT")
    portfolio.position_adjusted("external", "MSFT", D(7), D(30))  # MSFT was never priced: marks it
    restore()
    assert everything(portfolio) == before
    assert portfolio.mark("MSFT") is None  # the next MSFT order seeds the mark, as it would have


def test_a_restore_point_undoes_an_adjustment_of_a_held_symbol_exactly() -> None:
    portfolio = priced(AAPL=100)
    portfolio.order_filled(an_order(quantity=3), D(3), D(101))  # cost 303: not quantity × a rounded average
    portfolio.position_adjusted("external", "AAPL", D(2), D(90))
    before = everything(portfolio)
    restore = portfolio.restore_point("external", "AAPL")
    portfolio.position_adjusted("external", "AAPL", D(-5), D(97))
    restore()
    assert everything(portfolio) == before
