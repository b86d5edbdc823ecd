"""How prices, limits, stops and available quantity decide fills, and what fills do to the account."""

from __future__ import annotations

from execution_server.brokers.simulated.facts import Triggered
from execution_server.domain.orders import OrderStatus, OrderType, Side, TimeInForce

from .builders import D, an_engine, at, fills_in, order_of, submitted


def test_order_of_100_filled_30_then_70_is_filled_with_two_fills_and_an_exact_average() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, quantity="100", order_type=OrderType.LIMIT, limit="50", time_in_force=TimeInForce.GTC)
    engine.set_price("AAPL", D("49.99"), D(30), at(1))
    engine.set_price("AAPL", D("49.98"), D(70), at(2))
    order = order_of(engine, order_id)
    assert order.status is OrderStatus.FILLED
    assert [(f.quantity, f.price) for f in order.fills] == [(D(30), D("49.99")), (D(70), D("49.98"))]
    assert order.average_fill_price == D("49.983")  # (30 × 49.99 + 70 × 49.98) / 100, exactly


def test_market_order_fills_at_once_at_the_current_price() -> None:
    engine = an_engine("100")
    engine.set_price("AAPL", D("101.25"), None, at(0))
    order = order_of(engine, submitted(engine, seconds=1))
    assert (order.status, order.average_fill_price) == (OrderStatus.FILLED, D("101.25"))


def test_symbol_never_priced_trades_at_its_reference_price() -> None:
    engine = an_engine("100")
    engine.ledger.reference_prices["MSFT"] = D("420")
    assert order_of(engine, submitted(engine, symbol="MSFT")).average_fill_price == D("420")
    assert order_of(engine, submitted(engine, symbol="ZZZZ")).average_fill_price == D("100")


def test_buy_limit_fills_when_the_price_falls_to_the_limit_not_above_it() -> None:
    engine = an_engine("105")
    order_id = submitted(engine, order_type=OrderType.LIMIT, limit="100")
    assert fills_in(engine.set_price("AAPL", D("100.01"), None, at(1))) == []
    assert [f.price for f in fills_in(engine.set_price("AAPL", D("100"), None, at(2)))] == [D("100")]
    assert order_of(engine, order_id).status is OrderStatus.FILLED


def test_sell_limit_fills_when_the_price_rises_to_the_limit_not_below_it() -> None:
    engine = an_engine("95")
    order_id = submitted(engine, side=Side.SELL, order_type=OrderType.LIMIT, limit="100")
    assert fills_in(engine.set_price("AAPL", D("99.99"), None, at(1))) == []
    assert [f.price for f in fills_in(engine.set_price("AAPL", D("100"), None, at(2)))] == [D("100")]
    assert order_of(engine, order_id).status is OrderStatus.FILLED


def test_marketable_limit_fills_at_the_better_current_price() -> None:
    engine = an_engine("97")
    order = order_of(engine, submitted(engine, order_type=OrderType.LIMIT, limit="100"))
    assert order.average_fill_price == D("97")


def test_buy_stop_triggers_when_the_price_rises_to_the_stop() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, order_type=OrderType.STOP, stop="105")
    assert engine.set_price("AAPL", D("104.99"), None, at(1))[1:] == []
    facts = engine.set_price("AAPL", D("105"), None, at(2))
    assert [type(f).__name__ for f in facts] == ["PriceSet", "Triggered", "Filled"]
    assert order_of(engine, order_id).average_fill_price == D("105")


def test_sell_stop_triggers_when_the_price_falls_to_the_stop() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, side=Side.SELL, order_type=OrderType.STOP, stop="95")
    assert engine.set_price("AAPL", D("95.01"), None, at(1))[1:] == []
    engine.set_price("AAPL", D("94"), None, at(2))
    assert order_of(engine, order_id).average_fill_price == D("94")


def test_triggered_stop_limit_rests_as_a_limit_until_the_price_comes_back() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, order_type=OrderType.STOP_LIMIT, stop="105", limit="106", time_in_force=TimeInForce.GTC)
    facts = engine.set_price("AAPL", D("110"), None, at(1))
    assert [type(f) for f in facts[1:]] == [Triggered]
    assert fills_in(engine.set_price("AAPL", D("104"), None, at(2)))[0].price == D("104")
    assert order_of(engine, order_id).status is OrderStatus.FILLED


def test_triggered_stop_that_finds_nothing_available_rests_as_a_market_order() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, order_type=OrderType.STOP, stop="105", time_in_force=TimeInForce.GTC)
    engine.set_price("AAPL", D("106"), D(0), at(1))
    engine.set_price("AAPL", D("99"), None, at(2))  # below the stop again: still a market order
    assert order_of(engine, order_id).average_fill_price == D("99")


def test_available_quantity_goes_to_the_oldest_orders_first_across_order_types() -> None:
    engine = an_engine("100")
    oldest = submitted(engine, order_type=OrderType.LIMIT, limit="95", quantity="6")
    middle = submitted(engine, order_type=OrderType.STOP, stop="95", side=Side.SELL, quantity="6")
    youngest = submitted(engine, order_type=OrderType.LIMIT, limit="99", quantity="6")
    engine.set_price("AAPL", D("90"), D(8), at(1))
    assert [order_of(engine, i).filled_quantity for i in (oldest, middle, youngest)] == [D(6), D(2), D(0)]


def test_what_a_price_update_leaves_available_is_used_by_the_next_market_order() -> None:
    engine = an_engine("100")
    engine.set_price("AAPL", D("100"), D(15), at(0))
    first = order_of(engine, submitted(engine, quantity="10"))
    second = order_of(engine, submitted(engine, quantity="10"))
    assert (first.filled_quantity, second.filled_quantity) == (D(10), D(5))


def test_market_order_with_nothing_available_rests_and_fills_on_a_later_price() -> None:
    engine = an_engine("100")
    engine.set_price("AAPL", D("100"), D(0), at(0))
    order_id = submitted(engine, quantity="10", time_in_force=TimeInForce.GTC)
    assert order_of(engine, order_id).filled_quantity == D(0)
    engine.set_price("AAPL", D("102"), D(100), at(1))
    assert order_of(engine, order_id).average_fill_price == D("102")


def test_executions_have_unique_ids_in_arrival_order() -> None:
    engine = an_engine("100")
    for _ in range(3):
        submitted(engine, order_type=OrderType.LIMIT, limit="90", quantity="5")
    facts = fills_in(engine.set_price("AAPL", D("90"), D(12), at(1)))
    assert [f.execution_id for f in facts] == ["sim-exec-1", "sim-exec-2", "sim-exec-3"]
    assert [f.order_id for f in facts] == ["sim-1", "sim-2", "sim-3"]
    assert [f.quantity for f in facts] == [D(5), D(5), D(2)]


def test_buying_takes_cash_and_builds_a_position_at_the_average_price() -> None:
    engine = an_engine("100")
    submitted(engine, quantity="10")
    engine.set_price("AAPL", D("110"), None, at(1))
    submitted(engine, quantity="30")
    assert engine.ledger.positions["AAPL"] == (D(40), D("107.5"))
    assert engine.ledger.cash == D(1000000) - D(1000) - D(3300)


def test_selling_part_keeps_the_entry_price_and_crossing_zero_starts_a_short_at_the_fill_price() -> None:
    engine = an_engine("100")
    submitted(engine, quantity="10")
    engine.set_price("AAPL", D("120"), None, at(1))
    submitted(engine, side=Side.SELL, quantity="4")
    assert engine.ledger.positions["AAPL"] == (D(6), D(100))
    submitted(engine, side=Side.SELL, quantity="10")
    assert engine.ledger.positions["AAPL"] == (D(-4), D(120))
    assert engine.ledger.cash == D(1000000) - D(1000) + D(14) * D(120)


def test_closing_a_position_removes_it() -> None:
    engine = an_engine("100")
    submitted(engine, quantity="10")
    submitted(engine, side=Side.SELL, quantity="10")
    assert engine.ledger.positions == {}


def test_set_position_overwrites_the_broker_position_without_touching_cash() -> None:
    engine = an_engine("100")
    engine.set_position("TSLA", D("-7"), D("250.5"))
    assert (engine.ledger.positions["TSLA"], engine.ledger.cash) == ((D(-7), D("250.5")), D(1000000))
    engine.set_position("TSLA", D(0), None)
    assert "TSLA" not in engine.ledger.positions
