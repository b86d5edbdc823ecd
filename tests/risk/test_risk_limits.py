"""Parsing the [risk] table: exact decimals, overrides, refusals that name the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from execution_server.risk.limits import RiskLimitsError, load_risk_limits_file, parse_risk_limits, refuse_unsafe_limits


def test_money_limits_parse_exactly_from_strings_and_integers() -> None:
    limits = parse_risk_limits({"max_order_quantity": "0.1", "max_order_notional": 10000})
    assert limits.defaults.order.max_quantity == Decimal("0.1")
    assert limits.defaults.order.max_notional == Decimal(10000)


def test_a_toml_float_for_a_money_limit_is_refused_naming_the_key() -> None:
    with pytest.raises(RiskLimitsError, match=r"risk\.strategies\.momentum_v1\.max_order_notional: .*float"):
        parse_risk_limits({"strategies": {"momentum_v1": {"max_order_notional": 10000.5}}})


def test_a_rate_and_a_window_may_be_floats() -> None:
    limits = parse_risk_limits({"max_orders_per_second": 2.5, "duplicate_window_seconds": 0.5})
    assert limits.defaults.order.max_orders_per_second == 2.5
    assert limits.defaults.duplicate.window_seconds == 0.5


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"max_order_quantiy": "10"}, r"risk\.max_order_quantiy: unknown risk limit"),
        ({"max_order_quantity": "-1"}, r"risk\.max_order_quantity: must be a positive number"),
        ({"max_order_quantity": "0"}, r"risk\.max_order_quantity: must be a positive number"),
        ({"max_order_quantity": "ten"}, r"risk\.max_order_quantity: not a decimal number"),
        ({"max_order_quantity": "NaN"}, r"risk\.max_order_quantity: must be a positive number"),
        ({"max_order_quantity": True}, r"risk\.max_order_quantity: expected a decimal string"),
        ({"max_open_orders": "2.5"}, r"risk\.max_open_orders: must be a whole number"),
        ({"blocked_symbols": "GME"}, r"risk\.blocked_symbols: expected a list of symbols"),
        ({"limits": "none", "order_burst": 5}, r"risk\.order_burst: needs max_orders_per_second"),
        ({"limits": "off"}, r'risk\.limits: expected "default" or "none"'),
        ({"account": {"max_order_quantity": "1"}}, r"risk\.account\.max_order_quantity: unknown risk limit"),
        ({"strategies": {"s": "x"}}, r"risk\.strategies\.s: expected a table"),
    ],
)
def test_an_invalid_limit_is_refused_naming_the_key(table: dict, message: str) -> None:
    with pytest.raises(RiskLimitsError, match=message):
        parse_risk_limits(table)


def test_a_strategy_limit_overrides_the_global_one_and_inherits_the_rest() -> None:
    limits = parse_risk_limits(
        {
            "max_order_quantity": "1000",
            "max_order_notional": "50000",
            "strategies": {"momentum_v1": {"max_order_quantity": "10"}},
        }
    )
    own = limits.for_strategy("momentum_v1")
    assert own.order.max_quantity == Decimal(10)
    assert own.order.max_notional == Decimal(50000)
    assert limits.for_strategy("anyone_else").order.max_quantity == Decimal(1000)


def test_no_risk_table_means_the_safe_defaults() -> None:
    shown = parse_risk_limits(None).effective_limits()
    assert {key: value for key, value in shown.items() if value} == {
        "order_limits.max_order_quantity": "1000000",
        "order_limits.max_order_notional": "10000000",
        "position.max_position_notional": "50000000",
        "order_limits.max_orders_per_second": "500",
    }
    assert not parse_risk_limits(None).safe_defaults_off


def test_limits_none_means_no_limits_but_those_written() -> None:
    assert set(parse_risk_limits({"limits": "none"}).effective_limits().values()) == {""}
    limits = parse_risk_limits({"limits": "none", "max_order_quantity": "5"})
    assert limits.safe_defaults_off
    assert {key: value for key, value in limits.effective_limits().items() if value} == {
        "order_limits.max_order_quantity": "5"
    }


def test_a_default_is_overridden_key_by_key_and_the_others_stay() -> None:
    limits = parse_risk_limits({"max_order_quantity": "10", "strategies": {"fast": {"max_orders_per_second": 2000}}})
    assert limits.defaults.order.max_quantity == Decimal(10)
    assert limits.defaults.order.max_notional == Decimal(10_000_000)
    fast = limits.for_strategy("fast")
    assert fast.order.max_orders_per_second == 2000 and fast.order.max_quantity == Decimal(10)
    assert fast.position.max_notional == Decimal(50_000_000)


def test_live_trading_refuses_limits_none_naming_the_key() -> None:
    with pytest.raises(RiskLimitsError, match=r'^risk\.limits: "none" is refused with TRADING_MODE=LIVE'):
        refuse_unsafe_limits({"limits": "none", "max_order_quantity": "5"}, "LIVE")
    assert refuse_unsafe_limits({"limits": "none"}, "PAPER").safe_defaults_off
    assert not refuse_unsafe_limits({}, "LIVE").safe_defaults_off


def test_effective_limits_show_the_limits_in_force_for_a_strategy() -> None:
    limits = parse_risk_limits(
        {
            "max_order_quantity": "1000",
            "blocked_symbols": ["gme", "AMC"],
            "max_orders_per_second": 2.5,
            "strategies": {"momentum_v1": {"max_order_quantity": "10.50"}},
            "account": {"max_gross_exposure": "5000000"},
        }
    )
    shown = limits.effective_limits("momentum_v1")
    assert shown["order_limits.max_order_quantity"] == "10.5"
    assert shown["order_limits.blocked_symbols"] == "AMC,GME"
    assert shown["order_limits.max_orders_per_second"] == "2.5"
    assert shown["order_limits.max_order_notional"] == "10000000"  # the safe default
    assert shown["order_limits.price_collar_pct"] == ""
    assert shown["exposure.account_max_gross_exposure"] == "5000000"
    assert limits.effective_limits()["order_limits.max_order_quantity"] == "1000"


def test_a_limits_file_is_read_from_its_risk_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[server]\nport = 50051\n\n[risk]\nmax_order_quantity = "1000"\n\n'
                    '[risk.strategies.momentum_v1]\nmax_order_quantity = "10"\n')
    limits = load_risk_limits_file(path)
    assert limits.for_strategy("momentum_v1").order.max_quantity == Decimal(10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[risk\nmax_order_quantity = 1", "not valid TOML"),
        ("[risk]\nmax_order_notional = 1.5\n", r"risk\.max_order_notional"),
    ],
)
def test_a_limits_file_that_does_not_parse_is_one_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(RiskLimitsError, match=message) as raised:
        load_risk_limits_file(path)
    assert str(path) in str(raised.value)


def test_a_missing_limits_file_is_a_limits_error(tmp_path: Path) -> None:
    with pytest.raises(RiskLimitsError, match="cannot read"):
        load_risk_limits_file(tmp_path / "absent.toml")
