"""Market orders waiting for quantity: however many rest, and in whatever order the book keeps
them, a price update fills them oldest first."""

from __future__ import annotations

from execution_server.domain.orders import OrderType, Side, TimeInForce

from .builders import D, an_engine, at, fills_in, submitted

GTC = TimeInForce.GTC


def test_resting_market_orders_fill_oldest_first_however_many_rest() -> None:
    engine = an_engine("100")
    engine.set_price("AAPL", D("100"), D(0), at(0))  # nothing available: market orders rest
    markets = []
    for n in range(40):  # arrival numbers spread out by limits that never fill
        if n % 3:
            submitted(engine, order_type=OrderType.LIMIT, limit="50", quantity="1", time_in_force=GTC)
        else:
            markets.append(submitted(engine, quantity="1", time_in_force=GTC))
    facts = engine.set_price("AAPL", D("101"), D(5), at(1))
    assert [fill.order_id for fill in fills_in(facts)] == markets[:5]


def test_a_triggered_stop_takes_its_place_by_arrival_among_resting_market_orders() -> None:
    engine = an_engine("100")
    engine.set_price("AAPL", D("100"), D(0), at(0))
    before = submitted(engine, quantity="1", time_in_force=GTC)
    stop = submitted(engine, order_type=OrderType.STOP, stop="105", side=Side.BUY, quantity="1", time_in_force=GTC)
    after = [submitted(engine, quantity="1", time_in_force=GTC) for _ in range(10)]
    engine.set_price("AAPL", D("106"), D(0), at(1))  # triggers the stop; still nothing available
    facts = engine.set_price("AAPL", D("106"), D(3), at(2))
    assert [fill.order_id for fill in fills_in(facts)] == [before, stop, after[0]]
