"""Each check: an order just inside its limit passes, one just outside is rejected with a
reason that starts with its code. Driven through the RiskManager, as the OMS drives it."""

from __future__ import annotations

import pytest

from execution_server.risk.kill_switch import KillSwitchState
from tests.risk.risk_builders import BUY, NOW, SELL, D, Desk, a_spec

# --- 1. kill switch ---


def test_an_engaged_kill_switch_rejects_every_order_with_the_operators_reason() -> None:
    desk = Desk()
    desk.risk.set_kill_switch(KillSwitchState.engage("broker outage", NOW))
    reason = desk.rejects(quantity=1)
    assert reason == "KILL_SWITCH: broker outage"


def test_a_released_kill_switch_lets_orders_through() -> None:
    desk = Desk()
    desk.risk.set_kill_switch(KillSwitchState.engage("broker outage", NOW))
    desk.risk.set_kill_switch(KillSwitchState.release(NOW))
    assert desk.accepts(quantity=1)


def test_reduce_only_kill_switch_admits_an_order_that_only_shrinks_the_position() -> None:
    desk = Desk()
    desk.hold(10)
    desk.place(side=SELL, quantity=4)
    desk.risk.set_kill_switch(KillSwitchState.engage("flatten", NOW, reduce_only=True))
    assert desk.accepts(side=SELL, quantity=6)


def test_reduce_only_kill_switch_counts_open_orders_when_deciding_an_order_shrinks() -> None:
    desk = Desk()
    desk.hold(10)
    desk.place(side=SELL, quantity=4)
    desk.risk.set_kill_switch(KillSwitchState.engage("flatten", NOW, reduce_only=True))
    reason = desk.rejects(side=SELL, quantity=7)
    assert reason.startswith("KILL_SWITCH: flatten (reduce-only")


def test_reduce_only_kill_switch_rejects_an_order_that_grows_the_position() -> None:
    desk = Desk()
    desk.hold(10)
    desk.risk.set_kill_switch(KillSwitchState.engage("flatten", NOW, reduce_only=True))
    assert desk.rejects(side=BUY, quantity=1).startswith("KILL_SWITCH: ")


# --- 2. order limits ---


def test_max_order_quantity() -> None:
    desk = Desk({"max_order_quantity": "10"})
    assert desk.accepts(quantity="10")
    assert desk.rejects(quantity="10.01") == "MAX_ORDER_QUANTITY: order quantity 10.01 exceeds limit 10"


def test_max_order_notional_at_the_limit_price() -> None:
    desk = Desk({"max_order_notional": "10000"})
    assert desk.accepts(quantity=100, limit="100")
    reason = desk.rejects(quantity="100.5", limit="100")
    assert reason == "MAX_ORDER_NOTIONAL: order notional 10050 exceeds limit 10000"


def test_max_order_notional_of_a_market_order_at_the_reference_price() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={"AAPL": "200"})
    assert desk.accepts(quantity=50)
    assert desk.rejects(quantity="50.01").startswith("MAX_ORDER_NOTIONAL: order notional 10002 ")


def test_max_order_notional_of_a_stop_order_at_its_stop_price() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={"AAPL": "1"})
    assert desk.accepts(quantity=100, stop="100")
    assert desk.rejects(quantity=101, stop="100").startswith("MAX_ORDER_NOTIONAL: order notional 10100 ")


def test_a_market_order_without_a_reference_price_is_rejected_when_a_notional_limit_applies() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={})
    reason = desk.rejects(quantity=1)
    assert reason.startswith("NO_REFERENCE_PRICE: no reference price for AAPL")


def test_a_market_order_without_a_reference_price_passes_when_no_notional_limit_applies() -> None:
    desk = Desk({"limits": "none", "max_order_quantity": "10"}, prices={})
    assert desk.accepts(quantity=1)


def test_allowed_symbols() -> None:
    desk = Desk({"allowed_symbols": ["AAPL", "MSFT"]}, prices={"AAPL": 1, "TSLA": 1})
    assert desk.accepts(symbol="AAPL")
    assert desk.rejects(symbol="TSLA") == "SYMBOL_NOT_ALLOWED: TSLA is not among the allowed symbols"


def test_blocked_symbols_win_over_allowed_ones() -> None:
    desk = Desk({"allowed_symbols": ["AAPL", "GME"], "blocked_symbols": ["gme"]}, prices={"AAPL": 1, "GME": 1})
    assert desk.accepts(symbol="AAPL")
    assert desk.rejects(symbol="GME") == "SYMBOL_BLOCKED: GME is on the blocked list"


def test_price_collar() -> None:
    desk = Desk({"price_collar_pct": "5"}, prices={"AAPL": "100"})
    assert desk.accepts(side=BUY, limit="105")
    assert desk.accepts(side=SELL, limit="95")
    assert desk.rejects(side=BUY, limit="105.01") == (
        "PRICE_COLLAR: limit price 105.01 is 5.01% away from reference price 100, more than the 5% collar"
    )


def test_price_collar_has_nothing_to_compare_with_without_a_reference_price() -> None:
    desk = Desk({"price_collar_pct": "5"}, prices={})
    assert desk.accepts(limit="1000")


def test_max_open_orders_per_strategy() -> None:
    desk = Desk({"max_open_orders": 3})
    for _ in range(2):
        desk.place(quantity=1)
    assert desk.accepts(strategy="beta")  # another strategy's orders do not count
    third, reason = desk.place(quantity=1)
    assert reason is None
    assert desk.rejects(quantity=1) == "MAX_OPEN_ORDERS: strategy alpha has 3 open orders, the limit is 3"
    desk.portfolio.order_closed(third)
    assert desk.accepts(quantity=1)


def test_order_rate_admits_a_burst_then_the_rate() -> None:
    desk = Desk({"max_orders_per_second": 2})
    assert [desk.accepts(quantity=n) for n in (1, 2)] == [True, True]
    assert desk.rejects(quantity=3) == "ORDER_RATE: strategy alpha sends more than 2 orders per second"
    desk.clock.advance(0.49)
    assert desk.rejects(quantity=4)
    desk.clock.advance(0.01)
    assert desk.accepts(quantity=5)


def test_a_rejected_order_takes_no_token_from_the_rate_limit() -> None:
    desk = Desk({"max_orders_per_second": 1, "max_order_quantity": "5"})
    assert desk.rejects(quantity=6).startswith("MAX_ORDER_QUANTITY")
    assert desk.accepts(quantity=1)


def test_order_rate_is_per_strategy() -> None:
    desk = Desk({"max_orders_per_second": 1})
    desk.place(strategy="alpha")
    assert desk.accepts(strategy="beta")


# --- 3. position sizing ---


def test_max_position_quantity_counts_open_orders_on_the_same_side() -> None:
    desk = Desk({"max_position_quantity": "100"})
    desk.hold(60)
    desk.place(side=BUY, quantity=30)
    desk.place(side=SELL, quantity=50)  # the other side does not make room
    assert desk.accepts(side=BUY, quantity=10)
    assert desk.rejects(side=BUY, quantity="0.5") == (
        "MAX_POSITION_QUANTITY: strategy alpha position in AAPL could reach 100.5 with this order and its "
        "open buy orders, beyond the limit of 100"
    )


def test_max_position_quantity_on_the_short_side() -> None:
    desk = Desk({"max_position_quantity": "100"})
    desk.hold(20)
    assert desk.accepts(side=SELL, quantity=120)
    assert desk.rejects(side=SELL, quantity=1).startswith(
        "MAX_POSITION_QUANTITY: strategy alpha position in AAPL could reach -101 "
    )


def test_an_order_that_shrinks_a_position_beyond_a_lowered_limit_passes() -> None:
    desk = Desk({"max_position_quantity": "100"})
    desk.hold(500)
    assert desk.accepts(side=SELL, quantity=10)
    assert desk.rejects(side=BUY, quantity=1)


def test_max_position_notional_at_the_reference_price() -> None:
    desk = Desk({"max_position_notional": "10000"}, prices={"AAPL": "100"})
    desk.hold(50)
    assert desk.accepts(side=BUY, quantity=50)
    assert desk.rejects(side=BUY, quantity="0.01").startswith(
        "MAX_POSITION_NOTIONAL: strategy alpha position in AAPL could reach a notional of 10001 "
    )


def test_account_position_limit_adds_up_every_strategy() -> None:
    desk = Desk({"account": {"max_position_quantity": "100"}})
    desk.hold(70, strategy="alpha")
    assert desk.accepts(strategy="beta", side=BUY, quantity=30)
    reason = desk.rejects(strategy="gamma", side=BUY, quantity=1)
    assert reason.startswith("MAX_POSITION_QUANTITY: account position in AAPL could reach 101 ")


def test_a_market_order_without_reference_price_is_rejected_when_a_position_notional_limit_applies() -> None:
    desk = Desk({"max_position_notional": "10000"}, prices={})
    assert desk.rejects(quantity=1).startswith("NO_REFERENCE_PRICE: ")


# --- 4. daily loss ---


def test_a_strategy_at_its_daily_loss_limit_still_trades() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=110)  # bought at 110, marked at 100: -1000
    assert desk.accepts(side=BUY, quantity=1)
    assert desk.risk.reducing_strategies() == {}


def test_a_strategy_past_its_daily_loss_limit_only_reduces() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price="110.01")  # -1001
    reason = desk.rejects(side=BUY, quantity=1)
    assert reason == (
        "DAILY_LOSS: P&L of the day -1001 is below the loss limit of -1000: strategy alpha is reduce-only, "
        "and this order would not only shrink a position"
    )
    assert desk.accepts(side=SELL, quantity=100)
    assert desk.risk.trading_state("alpha").value == "REDUCING"
    assert desk.risk.trading_state("beta").value == "ACTIVE"
    assert "alpha" in desk.risk.reducing_strategies()


def test_daily_loss_counts_unrealised_loss_from_price_moves() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=100)
    desk.prices["AAPL"] = D(89)  # -1100 unrealised
    assert desk.rejects(side=BUY, quantity=1).startswith("DAILY_LOSS: P&L of the day -1100 ")


def test_reduce_only_from_daily_loss_lasts_until_the_day_rolls() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=120)
    assert desk.rejects(side=BUY, quantity=1)
    desk.prices["AAPL"] = D(125)  # back in profit: still reduce-only today
    assert desk.rejects(side=BUY, quantity=2)
    desk.risk.start_new_day()
    assert desk.accepts(side=BUY, quantity=3)


def test_an_operator_release_of_reduce_only_holds_for_the_day() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=120)
    desk.risk.evaluate_daily_loss()
    assert "alpha" in desk.risk.reducing_strategies()
    desk.risk.release_reducing("alpha")
    assert desk.accepts(side=BUY, quantity=1)


def test_the_account_past_its_daily_loss_limit_engages_the_kill_switch() -> None:
    desk = Desk({"account": {"max_daily_loss": "1000"}})
    desk.hold(50, strategy="alpha", price=111)
    desk.hold(50, strategy="beta", price="110.02")  # together -1051
    reason = desk.rejects(strategy="gamma", quantity=1)
    assert reason.startswith("DAILY_LOSS: account P&L of the day -1051 is below the loss limit of -1000")
    assert desk.risk.kill_switch.engaged
    assert desk.engaged == [desk.risk.kill_switch]  # handed to the shell to persist
    assert desk.rejects(strategy="gamma", quantity=1).startswith("KILL_SWITCH: DAILY_LOSS: account P&L")
    assert desk.risk.trading_state().value == "HALTED"


def test_the_account_at_its_daily_loss_limit_keeps_trading() -> None:
    desk = Desk({"account": {"max_daily_loss": "1000"}})
    desk.hold(100, price=110)
    assert desk.accepts(quantity=1)
    assert not desk.risk.kill_switch.engaged


# --- 5. duplicate guard ---


def test_the_duplicate_guard_is_off_by_default() -> None:
    desk = Desk()
    assert [desk.accepts(a_spec(quantity=5, limit=100)) for _ in range(3)] == [True, True, True]


def test_a_duplicate_within_the_window_is_rejected_and_after_it_accepted() -> None:
    desk = Desk({"duplicate_window_seconds": 2})
    assert desk.accepts(quantity=5, limit=100)
    desk.clock.advance(1.999)
    assert desk.rejects(quantity=5, limit=100) == (
        "DUPLICATE_ORDER: same symbol, side, quantity and price as an order strategy alpha "
        "sent 1.999 s ago (window 2 s)"
    )
    desk.clock.advance(0.001)
    assert desk.accepts(quantity=5, limit=100)


@pytest.mark.parametrize(
    "other",
    [
        dict(quantity=6, limit=100),
        dict(quantity=5, limit="100.01"),
        dict(quantity=5, limit=100, side=SELL),
        dict(quantity=5, limit=100, strategy="beta"),
    ],
)
def test_an_order_differing_in_one_field_is_not_a_duplicate(other: dict) -> None:
    desk = Desk({"duplicate_window_seconds": 2})
    desk.place(quantity=5, limit=100)
    assert desk.accepts(**other)


def test_a_rejected_order_is_not_remembered_by_the_duplicate_guard() -> None:
    desk = Desk({"duplicate_window_seconds": 2})
    desk.risk.set_kill_switch(KillSwitchState.engage("pause", NOW))
    assert desk.rejects(quantity=5, limit=100).startswith("KILL_SWITCH")
    desk.risk.set_kill_switch(KillSwitchState.release(NOW))
    assert desk.accepts(quantity=5, limit=100)


# --- 6. exposure ---


def test_gross_exposure_counts_open_orders() -> None:
    desk = Desk({"max_gross_exposure": "10000"}, prices={"AAPL": 100, "MSFT": 100})
    assert desk.accepts(symbol="AAPL", quantity=60)
    assert desk.accepts(symbol="MSFT", quantity=40)
    reason = desk.rejects(symbol="MSFT", side=SELL, quantity="40.01")
    assert reason == (
        "MAX_GROSS_EXPOSURE: strategy alpha gross exposure would reach 10001 with this order, beyond the limit of 10000"
    )


def test_exposure_two_orders_that_each_fit_but_not_together() -> None:
    desk = Desk({"account": {"max_gross_exposure": "10000"}})
    assert desk.accepts(strategy="alpha", quantity=60)
    assert desk.rejects(strategy="beta", quantity=41).startswith("MAX_GROSS_EXPOSURE: account gross exposure")


def test_an_order_that_reduces_exposure_passes_a_breached_gross_limit() -> None:
    desk = Desk({"max_gross_exposure": "10000"})
    desk.hold(150)
    assert desk.accepts(side=SELL, quantity=100)
    assert desk.rejects(side=BUY, quantity=1)


def test_net_exposure_binds_upwards_for_buys_and_downwards_for_sells() -> None:
    desk = Desk({"max_net_exposure": "10000"}, prices={"AAPL": 100, "MSFT": 100})
    desk.hold(80, symbol="AAPL")
    desk.hold(-30, symbol="MSFT")  # net +5000
    assert desk.accepts(symbol="MSFT", side=BUY, quantity=50)  # net could reach +10000
    assert desk.rejects(symbol="AAPL", side=BUY, quantity="0.01") == (
        "MAX_NET_EXPOSURE: strategy alpha net exposure would reach 10001 with this order, beyond the limit of ±10000"
    )
    assert desk.accepts(symbol="MSFT", side=SELL, quantity=150)  # could reach -10000
    assert desk.rejects(symbol="AAPL", side=SELL, quantity="0.01").startswith(
        "MAX_NET_EXPOSURE: strategy alpha net exposure would reach -10001 "
    )


def test_a_limit_order_in_a_symbol_never_priced_is_valued_at_its_limit_price() -> None:
    desk = Desk({"max_gross_exposure": "10000"}, prices={})
    assert desk.accepts(quantity=50, limit=100)
    assert desk.rejects(quantity=51, limit=100).startswith("MAX_GROSS_EXPOSURE: ")


def test_a_market_order_without_reference_price_is_rejected_when_an_exposure_limit_applies() -> None:
    desk = Desk({"account": {"max_net_exposure": "10000"}}, prices={})
    assert desk.rejects(quantity=1).startswith("NO_REFERENCE_PRICE: ")


def test_a_reference_price_of_zero_counts_as_no_reference_price() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={"AAPL": 0})
    assert desk.rejects(quantity=1).startswith("NO_REFERENCE_PRICE: ")
