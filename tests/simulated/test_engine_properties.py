"""Invariants of the matching engine for any sequence of orders, prices and cancels."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.brokers.base import BrokerRejected, CancelRefused
from execution_server.brokers.simulated import MatchingEngine
from execution_server.brokers.simulated import journal
from execution_server.brokers.simulated.facts import Fact, Filled, PriceSet
from execution_server.domain.orders import OrderType, Side, TimeInForce

from .builders import D, a_spec, an_engine, at

SYMBOLS = ("AAPL", "MSFT")
prices = st.integers(min_value=900, max_value=1100).map(lambda cents: Decimal(cents) / 10)
quantities = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 2)


@st.composite
def orders(draw: st.DrawFn) -> tuple[str, object]:
    order_type = draw(st.sampled_from(OrderType))
    return "submit", a_spec(
        symbol=draw(st.sampled_from(SYMBOLS)),
        side=draw(st.sampled_from(Side)),
        quantity=draw(quantities),
        order_type=order_type,
        time_in_force=draw(st.sampled_from(TimeInForce)),
        limit=str(draw(prices)) if order_type.needs_limit_price else None,
        stop=str(draw(prices)) if order_type.needs_stop_price else None,
    )


price_updates = st.tuples(
    st.just("price"), st.sampled_from(SYMBOLS), prices, st.none() | st.integers(0, 30).map(Decimal)
)
cancels = st.tuples(st.just("cancel"), st.integers(min_value=1, max_value=40))
commands = st.lists(orders() | price_updates | cancels | st.just(("close",)), max_size=60)


def run(commands: list[tuple]) -> tuple[MatchingEngine, list[Fact]]:
    engine, facts = an_engine("100"), []
    for step, command in enumerate(commands):
        kind = command[0]
        try:
            if kind == "submit":
                facts += engine.submit(command[1], at(step))
            elif kind == "price":
                facts += engine.set_price(command[1], command[2], command[3], at(step))
            elif kind == "cancel":
                facts += engine.cancel(f"sim-{command[1]}", "cancelled on request", at(step))
            else:
                facts += engine.close_session(at(step))
        except (BrokerRejected, CancelRefused):
            pass
    return engine, facts


@settings(max_examples=150, deadline=None)
@given(commands)
def test_no_order_fills_beyond_its_quantity(commands: list[tuple]) -> None:
    engine, _ = run(commands)
    for order in engine.ledger.orders.values():
        assert sum((f.quantity for f in order.fills), D(0)) == order.filled_quantity <= order.quantity


@settings(max_examples=150, deadline=None)
@given(commands)
def test_no_limit_order_fills_at_a_worse_price_than_its_limit(commands: list[tuple]) -> None:
    engine, _ = run(commands)
    for order in engine.ledger.orders.values():
        if order.order_type.needs_limit_price:
            for fill in order.fills:
                assert fill.price <= order.limit_price if order.side is Side.BUY else fill.price >= order.limit_price


@settings(max_examples=150, deadline=None)
@given(commands)
def test_position_per_symbol_is_the_sum_of_its_signed_fills_and_cash_pays_for_them(commands: list[tuple]) -> None:
    engine, _ = run(commands)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    spent = D(0)
    for order in engine.ledger.orders.values():
        for fill in order.fills:
            signed = fill.quantity if order.side is Side.BUY else -fill.quantity
            expected[order.symbol] += signed
            spent += signed * fill.price
    held = {symbol: quantity for symbol, (quantity, _) in engine.ledger.positions.items()}
    assert held == {symbol: quantity for symbol, quantity in expected.items() if quantity != 0}
    assert engine.ledger.cash == D(1000000) - spent


@settings(max_examples=150, deadline=None)
@given(commands)
def test_fills_at_a_price_never_exceed_the_quantity_available_at_it(commands: list[tuple]) -> None:
    engine, facts = run(commands)
    left: dict[str, Decimal | None] = {}
    for fact in facts:
        if isinstance(fact, PriceSet):
            left[fact.symbol] = fact.available
        elif isinstance(fact, Filled):
            symbol = engine.ledger.orders[fact.order_id].symbol
            if left.get(symbol) is not None:
                left[symbol] -= fact.quantity  # type: ignore[operator]
                assert left[symbol] >= 0  # type: ignore[operator]


@settings(max_examples=100, deadline=None)
@given(commands)
def test_replaying_the_journal_rebuilds_the_same_state(commands: list[tuple]) -> None:
    engine, facts = run(commands)
    replayed = an_engine("100")
    replayed.replay([journal.decode(journal.encode(fact)) for fact in facts])
    assert replayed.ledger.snapshot() == engine.ledger.snapshot()
    account, orders = engine.ledger.snapshot()
    from_snapshot = an_engine("100")
    from_snapshot.replay([account, *orders])
    assert from_snapshot.ledger.snapshot() == engine.ledger.snapshot()
