"""Each check: an order just inside its limit passes, one just outside is rejected with a
reason that starts with its code. Driven through the RiskManager, as the OMS drives it."""

from __future__ import annotations

import pytest

from execution_server.risk.kill_switch import KillSwitchState
from tests.risk.risk_builders import BUY, NOW, SELL, Desk, a_spec

# --- 1. kill switch ---


def test_an_engaged_kill_switch_rejects_every_order_with_the_operators_reason() -> None:
    desk = Desk()
    desk.risk.set_kill_switch(KillSwitchState.engage("broker outage", NOW))
    _, reason = desk.place(quantity=1)
    assert reason == "KILL_SWITCH: broker outage"


def test_a_released_kill_switch_lets_orders_through() -> None:
    desk = Desk()
    desk.risk.set_kill_switch(KillSwitchState.engage("broker outage", NOW))
    desk.risk.set_kill_switch(KillSwitchState.release(NOW))
    assert desk.place(quantity=1)[1] is None


def test_reduce_only_kill_switch_admits_an_order_that_only_shrinks_the_position() -> None:
    desk = Desk()
    desk.hold(10)
    desk.place(side=SELL, quantity=4)
    desk.risk.set_kill_switch(KillSwitchState.engage("flatten", NOW, reduce_only=True))
    assert desk.place(side=SELL, quantity=6)[1] is None


def test_reduce_only_kill_switch_counts_open_orders_when_deciding_an_order_shrinks() -> None:
    desk = Desk()
    desk.hold(10)
    desk.place(side=SELL, quantity=4)
    desk.risk.set_kill_switch(KillSwitchState.engage("flatten", NOW, reduce_only=True))
    _, reason = desk.place(side=SELL, quantity=7)
    assert reason is not None and reason.startswith("KILL_SWITCH: flatten (reduce-only")


def test_reduce_only_kill_switch_rejects_an_order_that_grows_the_position() -> None:
    desk = Desk()
    desk.hold(10)
    desk.risk.set_kill_switch(KillSwitchState.engage("flatten", NOW, reduce_only=True))
    assert desk.place(side=BUY, quantity=1)[1].startswith("KILL_SWITCH: ")


# --- 2. order limits ---


def test_max_order_quantity() -> None:
    desk = Desk({"max_order_quantity": "10"})
    assert desk.place(quantity="10")[1] is None
    assert desk.place(quantity="10.01")[1] == "MAX_ORDER_QUANTITY: order quantity 10.01 exceeds limit 10"


def test_max_order_notional_at_the_limit_price() -> None:
    desk = Desk({"max_order_notional": "10000"})
    assert desk.place(quantity=100, limit="100")[1] is None
    _, reason = desk.place(quantity="100.5", limit="100")
    assert reason == "MAX_ORDER_NOTIONAL: order notional 10050 exceeds limit 10000"


def test_max_order_notional_of_a_market_order_at_the_reference_price() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={"AAPL": "200"})
    assert desk.place(quantity=50)[1] is None
    assert desk.place(quantity="50.01")[1].startswith("MAX_ORDER_NOTIONAL: order notional 10002 ")


def test_max_order_notional_of_a_stop_order_at_its_stop_price() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={"AAPL": "1"})
    assert desk.place(quantity=100, stop="100")[1] is None
    assert desk.place(quantity=101, stop="100")[1].startswith("MAX_ORDER_NOTIONAL: order notional 10100 ")


def test_a_market_order_without_a_reference_price_is_rejected_when_a_notional_limit_applies() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={})
    _, reason = desk.place(quantity=1)
    assert reason is not None and reason.startswith("NO_REFERENCE_PRICE: no reference price for AAPL")


def test_a_market_order_without_a_reference_price_passes_when_no_notional_limit_applies() -> None:
    desk = Desk({"max_order_quantity": "10"}, prices={})
    assert desk.place(quantity=1)[1] is None


def test_allowed_symbols() -> None:
    desk = Desk({"allowed_symbols": ["AAPL", "MSFT"]}, prices={"AAPL": 1, "TSLA": 1})
    assert desk.place(symbol="AAPL")[1] is None
    assert desk.place(symbol="TSLA")[1] == "SYMBOL_NOT_ALLOWED: TSLA is not among the allowed symbols"


def test_blocked_symbols_win_over_allowed_ones() -> None:
    desk = Desk({"allowed_symbols": ["AAPL", "GME"], "blocked_symbols": ["gme"]}, prices={"AAPL": 1, "GME": 1})
    assert desk.place(symbol="AAPL")[1] is None
    assert desk.place(symbol="GME")[1] == "SYMBOL_BLOCKED: GME is on the blocked list"


def test_price_collar() -> None:
    desk = Desk({"price_collar_pct": "5"}, prices={"AAPL": "100"})
    assert desk.place(side=BUY, limit="105")[1] is None
    assert desk.place(side=SELL, limit="95")[1] is None
    assert desk.place(side=BUY, limit="105.01")[1] == (
        "PRICE_COLLAR: limit price 105.01 is 5.01% away from reference price 100, more than the 5% collar"
    )


def test_price_collar_has_nothing_to_compare_with_without_a_reference_price() -> None:
    desk = Desk({"price_collar_pct": "5"}, prices={})
    assert desk.place(limit="1000")[1] is None


def test_max_open_orders_per_strategy() -> None:
    desk = Desk({"max_open_orders": 3})
    for _ in range(2):
        desk.place(quantity=1)
    assert desk.place(strategy="beta")[1] is None  # another strategy's orders do not count
    third, reason = desk.place(quantity=1)
    assert reason is None
    assert desk.place(quantity=1)[1] == "MAX_OPEN_ORDERS: strategy alpha has 3 open orders, the limit is 3"
    desk.portfolio.order_closed(third)
    assert desk.place(quantity=1)[1] is None


def test_order_rate_admits_a_burst_then_the_rate() -> None:
    desk = Desk({"max_orders_per_second": 2})
    assert [desk.place(quantity=n)[1] for n in (1, 2)] == [None, None]
    assert desk.place(quantity=3)[1] == "ORDER_RATE: strategy alpha sends more than 2 orders per second"
    desk.clock.advance(0.49)
    assert desk.place(quantity=4)[1] is not None
    desk.clock.advance(0.01)
    assert desk.place(quantity=5)[1] is None


def test_a_rejected_order_takes_no_token_from_the_rate_limit() -> None:
    desk = Desk({"max_orders_per_second": 1, "max_order_quantity": "5"})
    assert desk.place(quantity=6)[1].startswith("MAX_ORDER_QUANTITY")
    assert desk.place(quantity=1)[1] is None


def test_order_rate_is_per_strategy() -> None:
    desk = Desk({"max_orders_per_second": 1})
    desk.place(strategy="alpha")
    assert desk.place(strategy="beta")[1] is None


# --- 3. position sizing ---


def test_max_position_quantity_counts_open_orders_on_the_same_side() -> None:
    desk = Desk({"max_position_quantity": "100"})
    desk.hold(60)
    desk.place(side=BUY, quantity=30)
    desk.place(side=SELL, quantity=50)  # the other side does not make room
    assert desk.place(side=BUY, quantity=10)[1] is None
    assert desk.place(side=BUY, quantity="0.5")[1] == (
        "MAX_POSITION_QUANTITY: strategy alpha position in AAPL could reach 100.5 with this order and its "
        "open buy orders, beyond the limit of 100"
    )


def test_max_position_quantity_on_the_short_side() -> None:
    desk = Desk({"max_position_quantity": "100"})
    desk.hold(20)
    assert desk.place(side=SELL, quantity=120)[1] is None
    assert desk.place(side=SELL, quantity=1)[1].startswith(
        "MAX_POSITION_QUANTITY: strategy alpha position in AAPL could reach -101 "
    )


def test_an_order_that_shrinks_a_position_beyond_a_lowered_limit_passes() -> None:
    desk = Desk({"max_position_quantity": "100"})
    desk.hold(500)
    assert desk.place(side=SELL, quantity=10)[1] is None
    assert desk.place(side=BUY, quantity=1)[1] is not None


def test_max_position_notional_at_the_reference_price() -> None:
    desk = Desk({"max_position_notional": "10000"}, prices={"AAPL": "100"})
    desk.hold(50)
    assert desk.place(side=BUY, quantity=50)[1] is None
    assert desk.place(side=BUY, quantity="0.01")[1].startswith(
        "MAX_POSITION_NOTIONAL: strategy alpha position in AAPL could reach a notional of 10001 "
    )


def test_account_position_limit_adds_up_every_strategy() -> None:
    desk = Desk({"account": {"max_position_quantity": "100"}})
    desk.hold(70, strategy="alpha")
    assert desk.place(strategy="beta", side=BUY, quantity=30)[1] is None
    _, reason = desk.place(strategy="gamma", side=BUY, quantity=1)
    assert reason.startswith("MAX_POSITION_QUANTITY: account position in AAPL could reach 101 ")


def test_a_market_order_without_reference_price_is_rejected_when_a_position_notional_limit_applies() -> None:
    desk = Desk({"max_position_notional": "10000"}, prices={})
    assert desk.place(quantity=1)[1].startswith("NO_REFERENCE_PRICE: ")


# --- 4. daily loss ---


def test_a_strategy_at_its_daily_loss_limit_still_trades() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=110)  # bought at 110, marked at 100: -1000
    assert desk.place(side=BUY, quantity=1)[1] is None
    assert desk.risk.reducing_strategies() == {}


def test_a_strategy_past_its_daily_loss_limit_only_reduces() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price="110.01")  # -1001
    _, reason = desk.place(side=BUY, quantity=1)
    assert reason == (
        "DAILY_LOSS: P&L of the day -1001 is below the loss limit of -1000: strategy alpha is reduce-only, "
        "and this order would not only shrink a position"
    )
    assert desk.place(side=SELL, quantity=100)[1] is None
    assert desk.risk.trading_state("alpha").value == "REDUCING"
    assert desk.risk.trading_state("beta").value == "ACTIVE"
    assert "alpha" in desk.risk.reducing_strategies()


def test_daily_loss_counts_unrealised_loss_from_price_moves() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=100)
    desk.prices["AAPL"] = 89  # -1100 unrealised
    assert desk.place(side=BUY, quantity=1)[1].startswith("DAILY_LOSS: P&L of the day -1100 ")


def test_reduce_only_from_daily_loss_lasts_until_the_day_rolls() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=120)
    assert desk.place(side=BUY, quantity=1)[1] is not None
    desk.prices["AAPL"] = 125  # back in profit: still reduce-only today
    assert desk.place(side=BUY, quantity=2)[1] is not None
    desk.risk.start_new_day()
    assert desk.place(side=BUY, quantity=3)[1] is None


def test_an_operator_release_of_reduce_only_holds_for_the_day() -> None:
    desk = Desk({"max_daily_loss": "1000"})
    desk.hold(100, price=120)
    desk.risk.evaluate_daily_loss()
    assert "alpha" in desk.risk.reducing_strategies()
    desk.risk.release_reducing("alpha")
    assert desk.place(side=BUY, quantity=1)[1] is None


def test_the_account_past_its_daily_loss_limit_engages_the_kill_switch() -> None:
    desk = Desk({"account": {"max_daily_loss": "1000"}})
    desk.hold(50, strategy="alpha", price=111)
    desk.hold(50, strategy="beta", price="110.02")  # together -1051
    _, reason = desk.place(strategy="gamma", quantity=1)
    assert reason.startswith("DAILY_LOSS: account P&L of the day -1051 is below the loss limit of -1000")
    assert desk.risk.kill_switch.engaged
    assert desk.engaged == [desk.risk.kill_switch]  # handed to the shell to persist
    assert desk.place(strategy="gamma", quantity=1)[1].startswith("KILL_SWITCH: DAILY_LOSS: account P&L")
    assert desk.risk.trading_state().value == "HALTED"


def test_the_account_at_its_daily_loss_limit_keeps_trading() -> None:
    desk = Desk({"account": {"max_daily_loss": "1000"}})
    desk.hold(100, price=110)
    assert desk.place(quantity=1)[1] is None
    assert not desk.risk.kill_switch.engaged


# --- 5. duplicate guard ---


def test_the_duplicate_guard_is_off_by_default() -> None:
    desk = Desk()
    assert [desk.place(a_spec(quantity=5, limit=100))[1] for _ in range(3)] == [None, None, None]


def test_a_duplicate_within_the_window_is_rejected_and_after_it_accepted() -> None:
    desk = Desk({"duplicate_window_seconds": 2})
    assert desk.place(quantity=5, limit=100)[1] is None
    desk.clock.advance(1.999)
    assert desk.place(quantity=5, limit=100)[1] == (
        "DUPLICATE_ORDER: same symbol, side, quantity and price as an order strategy alpha "
        "sent 1.999 s ago (window 2 s)"
    )
    desk.clock.advance(0.001)
    assert desk.place(quantity=5, limit=100)[1] is None


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
    assert desk.place(**other)[1] is None


def test_a_rejected_order_is_not_remembered_by_the_duplicate_guard() -> None:
    desk = Desk({"duplicate_window_seconds": 2})
    desk.risk.set_kill_switch(KillSwitchState.engage("pause", NOW))
    assert desk.place(quantity=5, limit=100)[1].startswith("KILL_SWITCH")
    desk.risk.set_kill_switch(KillSwitchState.release(NOW))
    assert desk.place(quantity=5, limit=100)[1] is None


# --- 6. exposure ---


def test_gross_exposure_counts_open_orders() -> None:
    desk = Desk({"max_gross_exposure": "10000"}, prices={"AAPL": 100, "MSFT": 100})
    assert desk.place(symbol="AAPL", quantity=60)[1] is None
    assert desk.place(symbol="MSFT", quantity=40)[1] is None
    _, reason = desk.place(symbol="MSFT", side=SELL, quantity="40.01")
    assert reason == (
        "MAX_GROSS_EXPOSURE: strategy alpha gross exposure would reach 10001 with this order, beyond the limit of 10000"
    )


def test_exposure_two_orders_that_each_fit_but_not_together() -> None:
    desk = Desk({"account": {"max_gross_exposure": "10000"}})
    assert desk.place(strategy="alpha", quantity=60)[1] is None
    assert desk.place(strategy="beta", quantity=41)[1].startswith("MAX_GROSS_EXPOSURE: account gross exposure")


def test_an_order_that_reduces_exposure_passes_a_breached_gross_limit() -> None:
    desk = Desk({"max_gross_exposure": "10000"})
    desk.hold(150)
    assert desk.place(side=SELL, quantity=100)[1] is None
    assert desk.place(side=BUY, quantity=1)[1] is not None


def test_net_exposure_binds_upwards_for_buys_and_downwards_for_sells() -> None:
    desk = Desk({"max_net_exposure": "10000"}, prices={"AAPL": 100, "MSFT": 100})
    desk.hold(80, symbol="AAPL")
    desk.hold(-30, symbol="MSFT")  # net +5000
    assert desk.place(symbol="MSFT", side=BUY, quantity=50)[1] is None  # net could reach +10000
    assert desk.place(symbol="AAPL", side=BUY, quantity="0.01")[1] == (
        "MAX_NET_EXPOSURE: strategy alpha net exposure would reach 10001 with this order, beyond the limit of ±10000"
    )
    assert desk.place(symbol="MSFT", side=SELL, quantity=150)[1] is None  # could reach -10000
    assert desk.place(symbol="AAPL", side=SELL, quantity="0.01")[1].startswith(
        "MAX_NET_EXPOSURE: strategy alpha net exposure would reach -10001 "
    )


def test_a_limit_order_in_a_symbol_never_priced_is_valued_at_its_limit_price() -> None:
    desk = Desk({"max_gross_exposure": "10000"}, prices={})
    assert desk.place(quantity=50, limit=100)[1] is None
    assert desk.place(quantity=51, limit=100)[1].startswith("MAX_GROSS_EXPOSURE: ")


def test_a_market_order_without_reference_price_is_rejected_when_an_exposure_limit_applies() -> None:
    desk = Desk({"account": {"max_net_exposure": "10000"}}, prices={})
    assert desk.place(quantity=1)[1].startswith("NO_REFERENCE_PRICE: ")


def test_a_reference_price_of_zero_counts_as_no_reference_price() -> None:
    desk = Desk({"max_order_notional": "10000"}, prices={"AAPL": 0})
    assert desk.place(quantity=1)[1].startswith("NO_REFERENCE_PRICE: ")
