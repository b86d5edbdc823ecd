"""Pre-trade risk through the gRPC API: each check admits an order just inside its limit and
rejects one just outside, with its reason code; the limits in force are visible and reload
on SIGHUP. A risk rejection is a REJECTED order, never an RPC error.

Prices: the simulated broker prices AAPL at 190 and MSFT at 420 until told otherwise. A buy
limit at 100 (or a sell limit at 300) on AAPL rests: it counts as an open order but never fills.
"""

from __future__ import annotations

import asyncio
import itertools
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2, simulator_pb2
from execution_server.config import Settings
from execution_server.store import repository
from tests.fakes import QuietBroker
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

RESTING_BUY: dict[str, Any] = {"order_type": pb.ORDER_TYPE_LIMIT, "limit_price": "100"}
RESTING_SELL: dict[str, Any] = {"side": pb.SIDE_SELL, "order_type": pb.ORDER_TYPE_LIMIT, "limit_price": "300"}


def with_risk(database_url: str, tmp_path: Path, risk: dict[str, Any], **overrides: Any) -> Settings:
    return settings_for(database_url, tmp_path, risk=risk, **overrides)


def assert_accepted(order: pb.Order) -> None:
    assert order.status != pb.ORDER_STATUS_REJECTED, order.reject_reason


def assert_rejected(order: pb.Order, code: str) -> None:
    assert order.status == pb.ORDER_STATUS_REJECTED, pb.OrderStatus.Name(order.status)
    assert order.reject_reason.startswith(f"{code}: "), order.reject_reason


async def filled(client: Client, order: pb.Order) -> pb.Order:
    assert_accepted(order)
    return await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)


async def set_price(client: Client, symbol: str, price: str) -> None:
    await client.simulator.SetPrice(simulator_pb2.SetPriceRequest(symbol=symbol, price=price))


async def limits_in_force(client: Client, strategy_id: str = "") -> dict[str, str]:
    response = await client.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest(strategy_id=strategy_id))
    return dict(response.limits)


# --- order limits ---


async def test_order_quantity_at_the_limit_is_accepted_and_just_over_it_is_rejected(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"max_order_quantity": "10"})) as client:
        assert_accepted(await client.place(quantity="10"))
        assert_rejected(await client.place(quantity="10.01"), "MAX_ORDER_QUANTITY")


async def test_order_notional_at_the_limit_is_accepted_and_just_over_it_is_rejected(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"max_order_notional": "1900"})) as client:
        assert_accepted(await client.place(quantity="19", order_type=pb.ORDER_TYPE_LIMIT, limit_price="100"))
        assert_rejected(
            await client.place(quantity="19", order_type=pb.ORDER_TYPE_LIMIT, limit_price="100.01"), "MAX_ORDER_NOTIONAL"
        )


async def test_market_order_notional_is_valued_at_the_reference_price(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"max_order_notional": "1900"})) as client:
        await set_price(client, "AAPL", "190")
        assert_accepted(await client.place(quantity="10"))
        await set_price(client, "AAPL", "190.01")
        assert_rejected(await client.place(quantity="10"), "MAX_ORDER_NOTIONAL")


async def test_only_allowed_symbols_are_accepted(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"allowed_symbols": ["AAPL", "MSFT"]})) as client:
        assert_accepted(await client.place(symbol="MSFT"))
        assert_rejected(await client.place(symbol="TSLA"), "SYMBOL_NOT_ALLOWED")


async def test_blocked_symbol_is_rejected_and_others_are_accepted(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"blocked_symbols": ["GME"]})) as client:
        assert_accepted(await client.place(symbol="AAPL"))
        assert_rejected(await client.place(symbol="GME"), "SYMBOL_BLOCKED")


async def test_limit_price_at_the_collar_is_accepted_and_just_beyond_it_is_rejected(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"price_collar_pct": "5"})) as client:
        # AAPL at 190: 5 % is 9.50, so a buy limit down to 180.50 is inside the collar.
        assert_accepted(await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="180.50"))
        assert_rejected(await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="180.49"), "PRICE_COLLAR")


async def test_open_orders_up_to_the_limit_are_accepted_and_one_more_is_rejected(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"max_open_orders": 2})) as client:
        assert_accepted(await client.place(**RESTING_BUY))
        assert_accepted(await client.place(**RESTING_BUY))
        assert_rejected(await client.place(**RESTING_BUY), "MAX_OPEN_ORDERS")
        assert_accepted(await client.place(strategy_id="other", **RESTING_BUY))  # the limit is per strategy


async def test_order_burst_is_accepted_and_the_next_order_is_rejected_for_its_rate(database_url: str, tmp_path: Path) -> None:
    # One order every 1000 s on average: the refill during the test is negligible.
    risk = {"max_orders_per_second": 0.001, "order_burst": 3}
    async with running(with_risk(database_url, tmp_path, risk)) as client:
        for _ in range(3):
            assert_accepted(await client.place())
        assert_rejected(await client.place(), "ORDER_RATE")


# --- position sizing ---


async def test_position_quantity_limit_counts_the_position_and_open_same_side_orders(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"max_position_quantity": "10"})) as client:
        await filled(client, await client.place(quantity="4"))
        assert_accepted(await client.place(quantity="5", **RESTING_BUY))
        assert_accepted(await client.place(quantity="1", **RESTING_BUY))  # 4 held + 5 + 1 open = 10
        assert_rejected(await client.place(quantity="1", **RESTING_BUY), "MAX_POSITION_QUANTITY")


async def test_position_notional_limit_counts_open_orders_at_the_reference_price(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"max_position_notional": "1900"})) as client:
        assert_accepted(await client.place(quantity="5", **RESTING_BUY))
        assert_accepted(await client.place(quantity="5", **RESTING_BUY))  # 10 × 190 = 1900
        assert_rejected(await client.place(quantity="1", **RESTING_BUY), "MAX_POSITION_NOTIONAL")


# --- daily loss ---

LOSS_LIMIT = {"strategies": {"momentum_v1": {"max_daily_loss": "500"}}}


async def test_loss_past_the_daily_limit_puts_the_strategy_in_reduce_only(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, LOSS_LIMIT)) as client:
        await set_price(client, "AAPL", "190")
        await filled(client, await client.place(quantity="10"))
        await set_price(client, "AAPL", "140")  # 10 × -50: exactly at the limit
        assert_accepted(await client.place(quantity="1", **RESTING_BUY))
        await set_price(client, "AAPL", "139.99")  # 10 × -50.01: past it
        assert_rejected(await client.place(quantity="1", **RESTING_BUY), "DAILY_LOSS")
        status = await client.risk.GetRiskStatus(risk_pb2.GetRiskStatusRequest())
        assert list(status.reducing_strategies) == ["momentum_v1"]
        assert not status.kill_switch_engaged


async def test_strategy_in_reduce_only_may_still_shrink_its_position(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, LOSS_LIMIT)) as client:
        await set_price(client, "AAPL", "190")
        await filled(client, await client.place(quantity="10"))
        await set_price(client, "AAPL", "100")
        assert_rejected(await client.place(quantity="1"), "DAILY_LOSS")
        assert_accepted(await client.place(side=pb.SIDE_SELL, quantity="4"))
        assert_accepted(await client.place(strategy_id="other", quantity="1"))  # others trade as usual


# --- duplicate guard ---


async def test_identical_order_within_the_window_is_rejected_as_a_duplicate(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"duplicate_window_seconds": 60})) as client:
        assert_accepted(await client.place(quantity="10"))
        assert_accepted(await client.place(quantity="11"))  # differs by one share: not a duplicate
        assert_rejected(await client.place(quantity="10"), "DUPLICATE_ORDER")


async def test_identical_order_after_the_window_is_accepted(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"duplicate_window_seconds": 0.05})) as client:
        assert_accepted(await client.place())
        await asyncio.sleep(0.2)  # only ever longer than the window: time does not run backwards
        assert_accepted(await client.place())


# --- portfolio exposure ---


async def test_strategy_gross_exposure_at_the_limit_is_accepted_and_above_it_rejected(database_url: str, tmp_path: Path) -> None:
    risk = {"strategies": {"momentum_v1": {"max_gross_exposure": "1900"}}}
    async with running(with_risk(database_url, tmp_path, risk)) as client:
        assert_rejected(await client.place(quantity="11", **RESTING_BUY), "MAX_GROSS_EXPOSURE")  # 2090
        assert_accepted(await client.place(quantity="10", **RESTING_BUY))  # 1900
        assert_accepted(await client.place(strategy_id="other", quantity="11", **RESTING_BUY))  # no limit there


async def test_strategy_net_exposure_binds_on_the_short_side_for_a_sell(database_url: str, tmp_path: Path) -> None:
    risk = {"strategies": {"momentum_v1": {"max_net_exposure": "1900"}}}
    async with running(with_risk(database_url, tmp_path, risk)) as client:
        assert_rejected(await client.place(quantity="11", **RESTING_SELL), "MAX_NET_EXPOSURE")  # -2090
        assert_accepted(await client.place(quantity="10", **RESTING_SELL))  # -1900


async def test_account_gross_exposure_adds_up_every_strategy(database_url: str, tmp_path: Path) -> None:
    risk = {"account": {"max_gross_exposure": "1900"}}
    async with running(with_risk(database_url, tmp_path, risk)) as client:
        await set_price(client, "ZZZ", "190")
        assert_accepted(await client.place(strategy_id="alpha", quantity="5", **RESTING_BUY))  # long 950
        assert_accepted(await client.place(strategy_id="beta", symbol="ZZZ", quantity="5", **RESTING_SELL))  # short 950
        order = await client.place(strategy_id="gamma", quantity="1", **RESTING_BUY)
        assert_rejected(order, "MAX_GROSS_EXPOSURE")
        assert "account" in order.reject_reason


async def test_account_net_exposure_adds_up_every_strategy(database_url: str, tmp_path: Path) -> None:
    risk = {"account": {"max_net_exposure": "1900"}}
    async with running(with_risk(database_url, tmp_path, risk)) as client:
        assert_accepted(await client.place(strategy_id="alpha", quantity="5", **RESTING_BUY))
        assert_accepted(await client.place(strategy_id="beta", quantity="5", **RESTING_BUY))  # 950 + 950
        order = await client.place(strategy_id="gamma", quantity="1", **RESTING_BUY)
        assert_rejected(order, "MAX_NET_EXPOSURE")
        assert "account" in order.reject_reason


async def test_gross_exposure_counts_resting_orders_that_each_fit(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, {"max_gross_exposure": "1900"})) as client:
        assert_accepted(await client.place(symbol="AAPL", quantity="5", **RESTING_BUY))  # 5 × 190 = 950
        second = await client.place(symbol="MSFT", quantity="3", **RESTING_BUY)  # 3 × 420 = 1260 alone
        assert_rejected(second, "MAX_GROSS_EXPOSURE")


# --- no reference price ---


class UnpricedBroker(QuietBroker):
    """Accepts every order and knows no price at all."""

    def reference_price(self, symbol: str) -> Decimal | None:
        return None


async def test_market_order_without_a_reference_price_is_rejected_when_a_notional_limit_applies(
    database_url: str, tmp_path: Path
) -> None:
    # Without the safe defaults, whose notional limit would apply to every strategy.
    risk = {"limits": "none", "strategies": {"capped": {"max_order_notional": "1000"}}}
    settings = with_risk(database_url, tmp_path, risk)
    async with running(settings, UnpricedBroker()) as client:
        assert_rejected(await client.place(strategy_id="capped", quantity="1"), "NO_REFERENCE_PRICE")
        assert_accepted(await client.place(strategy_id="uncapped", quantity="1"))  # no notional to check
        # A limit order carries its own price, so its notional can be checked.
        limit = await client.place(strategy_id="capped", quantity="1", order_type=pb.ORDER_TYPE_LIMIT, limit_price="10")
        assert_accepted(limit)


# --- the limits in force ---

OVERRIDDEN = {
    "max_order_quantity": "100",
    "blocked_symbols": ["GME"],
    "strategies": {"momentum_v1": {"max_order_quantity": "10"}},
    "account": {"max_gross_exposure": "5000000"},
}


async def test_risk_limits_show_the_global_limits_and_a_strategy_override_wins(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, OVERRIDDEN)) as client:
        shown = await limits_in_force(client)
        assert shown["order_limits.max_order_quantity"] == "100"
        assert shown["order_limits.blocked_symbols"] == "GME"
        assert shown["order_limits.max_order_notional"] == "10000000"  # the safe default, not overridden
        assert shown["order_limits.price_collar_pct"] == ""  # no default: no limit
        assert shown["exposure.account_max_gross_exposure"] == "5000000"
        overridden = await limits_in_force(client, "momentum_v1")
        assert overridden["order_limits.max_order_quantity"] == "10"
        assert overridden["order_limits.blocked_symbols"] == "GME"  # inherited
        assert (await limits_in_force(client, "other"))["order_limits.max_order_quantity"] == "100"


async def test_strategy_override_is_the_limit_its_orders_meet(database_url: str, tmp_path: Path) -> None:
    async with running(with_risk(database_url, tmp_path, OVERRIDDEN)) as client:
        assert_rejected(await client.place(strategy_id="momentum_v1", quantity="11"), "MAX_ORDER_QUANTITY")
        assert_accepted(await client.place(strategy_id="other", quantity="11"))


# --- SIGHUP reload ---


async def test_reloaded_limits_are_in_force_for_the_next_order(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "execution.toml"
    path.write_text('[risk]\nmax_order_quantity = "10"\n')
    settings = with_risk(database_url, tmp_path, tomllib.loads(path.read_text())["risk"], config_path=path)
    async with running(settings) as client:
        assert_rejected(await client.place(quantity="11"), "MAX_ORDER_QUANTITY")
        path.write_text('[risk]\nmax_order_quantity = "20"\n')
        client.app.risk.reload_limits()  # what the SIGHUP handler calls
        assert (await limits_in_force(client))["order_limits.max_order_quantity"] == "20"
        assert_accepted(await client.place(quantity="11"))
        assert_rejected(await client.place(quantity="21"), "MAX_ORDER_QUANTITY")


def _replace_with_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


BROKEN_CONFIGS = {
    "not-toml": lambda path: path.write_text('[risk\nmax_order_quantity = "20"\n'),
    "float-limit": lambda path: path.write_text("[risk]\nmax_order_quantity = 20.0\n"),
    "unknown-key": lambda path: path.write_text('[risk]\nmax_order_quantitty = "20"\n'),
    "missing": Path.unlink,
    "unreadable": _replace_with_directory,
}


@pytest.mark.parametrize("breakage", list(BROKEN_CONFIGS))
async def test_a_config_that_cannot_be_loaded_leaves_the_old_limits_in_force(
    database_url: str, tmp_path: Path, breakage: str
) -> None:
    path = tmp_path / "execution.toml"
    path.write_text('[risk]\nmax_order_quantity = "10"\n')
    settings = with_risk(database_url, tmp_path, tomllib.loads(path.read_text())["risk"], config_path=path)
    async with running(settings) as client:
        BROKEN_CONFIGS[breakage](path)
        client.app.risk.reload_limits()  # logs why; raises nothing into the SIGHUP handler
        assert (await limits_in_force(client))["order_limits.max_order_quantity"] == "10"
        assert_rejected(await client.place(quantity="11"), "MAX_ORDER_QUANTITY")
        assert_accepted(await client.place(quantity="10"))


# --- property: the position limit holds whatever the order sequence ---

POSITION_LIMIT = Decimal("10")
_strategies = itertools.count(1)

orders = st.lists(
    st.tuples(
        st.sampled_from([pb.SIDE_BUY, pb.SIDE_SELL]),
        st.integers(min_value=1, max_value=8),
        st.booleans(),  # True: a resting limit order, filled later by a sweep
    ),
    min_size=1,
    max_size=8,
)


def test_position_never_exceeds_its_limit_after_any_order_sequence(database_url: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    risk = {"max_position_quantity": str(POSITION_LIMIT)}
    running_server = running(with_risk(database_url, tmp_path, risk))
    client = loop.run_until_complete(running_server.__aenter__())
    try:

        @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(orders)
        def check(sequence: list[tuple[int, int, bool]]) -> None:
            loop.run_until_complete(_play(client, f"prop-{next(_strategies)}", sequence))

        check()
    finally:
        loop.run_until_complete(running_server.__aexit__(None, None, None))
        loop.close()


async def _play(client: Client, strategy_id: str, sequence: list[tuple[int, int, bool]]) -> None:
    """Market orders fill at once; resting buys (at 100) and sells (at 300) fill when the
    price is swept down to 50 and then up to 400. The position is read after each stage."""
    await set_price(client, "AAPL", "190")
    accepted: list[pb.Order] = []
    for side, quantity, resting in sequence:
        price = "100" if side == pb.SIDE_BUY else "300"
        limit = {"order_type": pb.ORDER_TYPE_LIMIT, "limit_price": price} if resting else {}
        order = await client.place(strategy_id=strategy_id, side=side, quantity=str(quantity), **limit)
        if order.status != pb.ORDER_STATUS_REJECTED:
            accepted.append(order)
        else:
            assert order.reject_reason.startswith("MAX_POSITION_QUANTITY: "), order.reject_reason
    market = [o for o in accepted if o.order_type == pb.ORDER_TYPE_MARKET]
    await _settled(client, market)
    assert abs(await _position(client, strategy_id)) <= POSITION_LIMIT
    for price, side in (("50", pb.SIDE_BUY), ("400", pb.SIDE_SELL)):
        await set_price(client, "AAPL", price)
        await _settled(client, [o for o in accepted if o.order_type == pb.ORDER_TYPE_LIMIT and o.side == side])
        assert abs(await _position(client, strategy_id)) <= POSITION_LIMIT


async def _settled(client: Client, placed: list[pb.Order]) -> None:
    for order in placed:
        await eventually(lambda o=order: client.get(o.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)


async def _position(client: Client, strategy_id: str) -> Decimal:
    response = await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id=strategy_id))
    return sum((Decimal(p.quantity) for p in response.positions if p.symbol == "AAPL"), Decimal(0))


async def test_a_restart_keeps_the_days_loss_and_the_reduce_only_it_brought(database_url: str, tmp_path: Path) -> None:
    """Bought 10 at 190 and sold them at 100 today: flat, 900 lost, past the limit of 500.
    After a restart the day's loss still counts: a buy is refused for DAILY_LOSS, and the day's
    opening values were saved once, on the day's first start."""
    settings = with_risk(database_url, tmp_path, LOSS_LIMIT)
    async with running(settings) as client:
        await set_price(client, "AAPL", "190")
        await filled(client, await client.place(quantity="10"))
        await set_price(client, "AAPL", "100")
        await filled(client, await client.place(side=pb.SIDE_SELL, quantity="10"))
        assert_rejected(await client.place(quantity="1"), "DAILY_LOSS")
    async with running(settings) as client:
        assert_rejected(await client.place(quantity="1"), "DAILY_LOSS")
        assert_accepted(await client.place(strategy_id="other", quantity="1"))  # others trade as usual
        async with client.app.engine.connect() as conn:
            saved = await repository.load_day_openings(conn, client.app.risk._day)
    assert saved == {"": 0}


async def test_a_restart_keeps_the_days_realised_pnl(database_url: str, tmp_path: Path) -> None:
    """Bought 10 at 190, sold 4 at 200 (40 realised), restart, sold the other 6 at 180 (60
    lost), restart: the day's realised P&L is 40, then -20, for the strategy and the account."""
    settings = with_risk(database_url, tmp_path, {})
    async with running(settings) as client:
        await set_price(client, "AAPL", "190")
        await filled(client, await client.place(quantity="10"))
        await set_price(client, "AAPL", "200")
        await filled(client, await client.place(side=pb.SIDE_SELL, quantity="4"))
        assert client.app.risk.portfolio.exposure("momentum_v1").realized_pnl == 40
    async with running(settings) as client:
        portfolio = client.app.risk.portfolio
        assert (portfolio.exposure("momentum_v1").realized_pnl, portfolio.exposure().realized_pnl) == (40, 40)
        await set_price(client, "AAPL", "180")
        await filled(client, await client.place(side=pb.SIDE_SELL, quantity="6"))
        assert portfolio.exposure("momentum_v1").realized_pnl == -20
    async with running(settings) as client:
        portfolio = client.app.risk.portfolio
        assert (portfolio.exposure("momentum_v1").realized_pnl, portfolio.exposure().realized_pnl) == (-20, -20)


async def test_a_restart_keeps_an_operators_release_from_reduce_only(database_url: str, tmp_path: Path) -> None:
    """Past its daily loss limit the strategy is reduce-only; an operator releases it for the
    rest of the day. After a restart it still trades: the loss does not trip it again."""
    settings = with_risk(database_url, tmp_path, LOSS_LIMIT)
    async with running(settings) as client:
        await set_price(client, "AAPL", "190")
        await filled(client, await client.place(quantity="10"))
        await set_price(client, "AAPL", "100")
        assert_rejected(await client.place(quantity="1", **RESTING_BUY), "DAILY_LOSS")
        await client.app.risk.release_reducing("momentum_v1")
        assert_accepted(await client.place(quantity="1", **RESTING_BUY))
    async with running(settings) as client:
        assert_accepted(await client.place(quantity="1", **RESTING_BUY))
        status = await client.risk.GetRiskStatus(risk_pb2.GetRiskStatusRequest())
        assert dict(status.reducing_strategies) == {}
