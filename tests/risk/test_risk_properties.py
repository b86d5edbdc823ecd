"""For any sequence of orders, fills and cancels, no order the risk layer accepted could
take a position or an exposure past its limit: not the positions that were filled, and not
the worst case still possible if every open order filled."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, target
from hypothesis import strategies as st

from execution_server.domain.orders import Order, Side
from tests.risk.risk_builders import Desk, a_spec

PRICES = {"X": Decimal(100), "Y": Decimal(40)}
STRATEGIES = ("a", "b")
KEYS = ("max_position_quantity", "max_position_notional", "max_gross_exposure", "max_net_exposure")

# One set of limits per kind, so that each kind is the one that binds in some runs, then all.
LIMIT_SETS = [
    {"max_position_quantity": "120", "account": {"max_position_quantity": "200"}},
    {"max_position_notional": "9000", "account": {"max_position_notional": "15000"}},
    {"max_gross_exposure": "12000", "account": {"max_gross_exposure": "18000"}},
    {"max_net_exposure": "8000", "account": {"max_net_exposure": "12000"}},
    {
        "max_position_quantity": "120",
        "max_position_notional": "9000",
        "max_gross_exposure": "14000",
        "max_net_exposure": "8000",
        "account": {
            "max_position_quantity": "200",
            "max_position_notional": "15000",
            "max_gross_exposure": "20000",
            "max_net_exposure": "12000",
        },
    },
]


def limits_of(table: dict) -> tuple[Decimal | None, ...]:
    return tuple(Decimal(table[key]) if key in table else None for key in KEYS)


places = st.tuples(st.just("place"), st.sampled_from(STRATEGIES), st.sampled_from(sorted(PRICES)),
                   st.sampled_from(list(Side)), st.integers(1, 130), st.booleans())
actions = st.lists(
    st.one_of(
        places,
        places,  # twice as likely as a fill or a cancel, so that limits are reached
        st.tuples(st.just("fill"), st.integers(0, 60), st.integers(1, 4)),
        st.tuples(st.just("cancel"), st.integers(0, 60)),
    ),
    min_size=4,
    max_size=50,
)


def worst_cases(positions: dict, open_orders: list[Order], strategies: tuple[str, ...]) -> tuple[Decimal, ...]:
    """Largest position size and notional in one symbol, gross and |net| exposure, if every
    open order on one side filled (with none open, what is actually held)."""
    size = notional = gross = Decimal(0)
    net_high = net_low = Decimal(0)
    for symbol, price in PRICES.items():
        held = sum(positions.get((t, symbol), Decimal(0)) for t in strategies)
        buys = sum((o.remaining_quantity for o in open_orders
                    if o.symbol == symbol and o.strategy_id in strategies and o.side is Side.BUY), Decimal(0))
        sells = sum((o.remaining_quantity for o in open_orders
                     if o.symbol == symbol and o.strategy_id in strategies and o.side is Side.SELL), Decimal(0))
        biggest = max(abs(held + buys), abs(held - sells))
        size, notional = max(size, biggest), max(notional, biggest * price)
        gross += biggest * price
        net_high += (held + buys) * price
        net_low += (held - sells) * price
    return size, notional, gross, max(abs(net_high), abs(net_low))


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(LIMIT_SETS), actions)
def test_no_accepted_order_takes_a_position_or_exposure_past_its_limit(limits: dict, sequence: list[tuple]) -> None:
    desk = Desk(limits, prices=PRICES)
    strategy_limits, account_limits = limits_of(limits), limits_of(limits["account"])
    open_orders: list[Order] = []
    positions: dict[tuple[str, str], Decimal] = {}
    closest: dict[str, float] = {}  # how near each limit the run came, as a fraction of it
    for action in sequence:
        if action[0] == "place":
            _, strategy, symbol, side, quantity, is_limit = action
            spec = a_spec(strategy=strategy, symbol=symbol, side=side, quantity=quantity,
                          limit=PRICES[symbol] if is_limit else None)
            order, reason = desk.place(spec)
            if reason is None:
                open_orders.append(order)
        elif action[0] == "fill" and open_orders:
            _, index, quarters = action
            order = open_orders.pop(index % len(open_orders))
            quantity = max(Decimal(1), order.remaining_quantity * quarters // 4)
            filled = desk.fill(order, quantity, PRICES[order.symbol])
            held = (order.strategy_id, order.symbol)
            positions[held] = positions.get(held, Decimal(0)) + order.side.sign * quantity
            if filled.remaining_quantity:
                open_orders.append(filled)
        elif action[0] == "cancel" and open_orders:
            order = open_orders.pop(action[1] % len(open_orders))
            desk.portfolio.order_closed(order)
        for strategy in STRATEGIES:
            assert_within(worst_cases(positions, open_orders, (strategy,)), strategy_limits, closest)
            assert_within(worst_cases(positions, [], (strategy,)), strategy_limits, closest)
        assert_within(worst_cases(positions, open_orders, STRATEGIES), account_limits, closest)
    for key, ratio in closest.items():
        target(ratio, label=key)  # steer the search towards sequences that come close to a limit


def assert_within(values: tuple[Decimal, ...], limits: tuple[Decimal | None, ...], closest: dict[str, float]) -> None:
    for key, value, limit in zip(KEYS, values, limits):
        if limit is not None:
            assert value <= limit, f"{key}: {value} > {limit}"
            closest[key] = max(closest.get(key, 0.0), float(value / limit))
