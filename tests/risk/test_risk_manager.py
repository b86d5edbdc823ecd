"""The manager: fixed order, first violation wins, logged; limits swapped whole; states."""

from __future__ import annotations

import logging

import pytest

from execution_server.risk.kill_switch import KillSwitchState, TradingState
from execution_server.risk.limits import parse_risk_limits
from tests.risk.risk_builders import BUY, NOW, SELL, Desk, a_spec, an_order


def test_checks_stop_at_the_first_violation_in_the_fixed_order() -> None:
    desk = Desk({"blocked_symbols": ["AAPL"], "max_order_quantity": "1", "max_position_quantity": "1"})
    assert desk.rejects(quantity=5).startswith("SYMBOL_BLOCKED")
    desk.risk.set_kill_switch(KillSwitchState.engage("stop", NOW))
    assert desk.rejects(quantity=5).startswith("KILL_SWITCH")


def test_order_limits_come_before_position_limits() -> None:
    desk = Desk({"max_order_quantity": "1", "max_position_quantity": "1"})
    denial = desk.risk.check(a_spec(quantity=5))
    assert denial is not None
    assert (denial.check, denial.code) == ("order_limits", "MAX_ORDER_QUANTITY")


def test_a_denial_carries_the_check_the_limit_and_the_value() -> None:
    desk = Desk({"max_order_notional": "10000"})
    denial = desk.risk.check(a_spec(quantity="100.5", limit="100"))
    assert denial is not None
    assert (denial.check, denial.code, denial.limit_key, denial.limit, denial.value) == (
        "order_limits", "MAX_ORDER_NOTIONAL", "max_order_notional", "10000", "10050")
    assert str(denial) == denial.reason


def test_every_rejection_is_logged_with_the_check_the_limit_and_the_value(caplog: pytest.LogCaptureFixture) -> None:
    desk = Desk({"max_order_quantity": "10"})
    with caplog.at_level(logging.WARNING, logger="execution_server.risk"):
        desk.place(quantity=11)
    [record] = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert "check=order_limits code=MAX_ORDER_QUANTITY" in record.getMessage()
    assert "limit=10 value=11" in record.getMessage()


def test_an_accepted_order_is_not_logged_as_a_rejection(caplog: pytest.LogCaptureFixture) -> None:
    desk = Desk({"max_order_quantity": "10"})
    with caplog.at_level(logging.WARNING, logger="execution_server.risk"):
        desk.place(quantity=10)
    assert not [r for r in caplog.records if "rejected" in r.getMessage()]


def test_admit_reserves_the_accepted_order_in_the_portfolio() -> None:
    desk = Desk()
    order = an_order(a_spec(quantity=7))
    assert desk.risk.admit(order) is None
    assert desk.portfolio.position("alpha", "AAPL").open_buy_quantity == 7


def test_admit_reserves_nothing_for_a_rejected_order() -> None:
    desk = Desk({"max_order_quantity": "1"})
    order = an_order(a_spec(quantity=7))
    assert desk.risk.admit(order) is not None
    assert not desk.portfolio.is_open(order.order_id)


def test_new_limits_take_effect_for_the_next_order() -> None:
    desk = Desk({"max_order_quantity": "10"})
    desk.risk.replace_limits(parse_risk_limits({"max_order_quantity": "5"}))
    assert desk.rejects(quantity=6).startswith("MAX_ORDER_QUANTITY: order quantity 6 exceeds limit 5")


def test_a_strategy_override_applies_only_to_that_strategy() -> None:
    desk = Desk({"max_order_quantity": "100", "strategies": {"momentum_v1": {"max_order_quantity": "10"}}})
    assert desk.rejects(strategy="momentum_v1", quantity=11).startswith("MAX_ORDER_QUANTITY")
    assert desk.accepts(strategy="other", quantity=11)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (KillSwitchState(), TradingState.ACTIVE),
        (KillSwitchState.engage("x", NOW, reduce_only=True), TradingState.REDUCING),
        (KillSwitchState.engage("x", NOW), TradingState.HALTED),
    ],
)
def test_the_kill_switch_sets_the_trading_state(state: KillSwitchState, expected: TradingState) -> None:
    desk = Desk()
    desk.risk.set_kill_switch(state)
    assert desk.risk.trading_state() is expected
    assert desk.risk.trading_state("alpha") is expected


def test_a_halt_outranks_a_strategys_reduce_only() -> None:
    desk = Desk({"max_daily_loss": "10"})
    desk.hold(10, price=110)
    desk.risk.evaluate_daily_loss()
    assert desk.risk.trading_state("alpha") is TradingState.REDUCING
    desk.risk.set_kill_switch(KillSwitchState.engage("x", NOW))
    assert desk.risk.trading_state("alpha") is TradingState.HALTED


def test_a_persisted_kill_switch_given_at_start_up_is_in_force() -> None:
    from execution_server.risk.manager import RiskManager
    from execution_server.risk.portfolio import PortfolioView

    risk = RiskManager(parse_risk_limits({}), PortfolioView(), lambda symbol: None,
                       kill_switch=KillSwitchState.engage("overnight", NOW))
    assert str(risk.check(a_spec())) == "KILL_SWITCH: overnight"


def test_the_day_roll_keeps_the_kill_switch_engaged() -> None:
    desk = Desk()
    desk.risk.set_kill_switch(KillSwitchState.engage("stop", NOW))
    desk.risk.start_new_day()
    assert desk.risk.kill_switch.engaged


def test_explain_says_what_each_check_enforces_for_the_strategy() -> None:
    desk = Desk({"max_order_quantity": "100", "strategies": {"momentum_v1": {"max_order_quantity": "10"}}})
    lines = desk.risk.explain("momentum_v1")
    assert lines[0] == "trading state: ACTIVE"
    assert "order size: quantity ≤ 10, notional ≤ 10000000" in lines  # the safe default notional
    assert any(line.startswith("duplicate guard: off") for line in lines)


def test_reduce_only_admits_a_buy_that_covers_a_short() -> None:
    desk = Desk()
    desk.hold(-10)
    desk.risk.set_kill_switch(KillSwitchState.engage("flatten", NOW, reduce_only=True))
    assert desk.accepts(side=BUY, quantity=10)
    assert desk.rejects(side=SELL, quantity=1)


def test_a_failure_inside_the_checks_rejects_the_order() -> None:
    from execution_server.risk.manager import RiskManager
    from execution_server.risk.portfolio import PortfolioView

    def broken_price_feed(symbol: str) -> None:
        raise RuntimeError("feed down")

    risk = RiskManager(parse_risk_limits({}), PortfolioView(), broken_price_feed)
    assert str(risk.check(a_spec())).startswith("RISK_ERROR: ")
