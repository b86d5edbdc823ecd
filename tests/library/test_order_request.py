"""OrderRequest, the library's edge: the spellings Python users write are accepted, a float is
refused rather than rounded, every bad field is named at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca.trading import enums as alpaca
from hypothesis import given
from hypothesis import strategies as st

from execution_server.domain.identifiers import IDENTIFIER
from execution_server.domain.orders import OrderSpec, OrderType, Side, TimeInForce
from execution_server.schemas import InvalidOrderRequest, OrderRequest


def a_request(**fields: object) -> OrderRequest:
    defaults: dict[str, object] = {"symbol": "AAPL", "side": "BUY", "quantity": 10, "strategy_id": "momentum_v1"}
    return OrderRequest(**{**defaults, **fields})  # type: ignore[arg-type]


def violations(**fields: object) -> dict[str, str]:
    with pytest.raises(InvalidOrderRequest) as refused:
        a_request(**fields)
    return dict(refused.value.violations)


@pytest.mark.parametrize("side", ["BUY", "buy", "Buy", Side.BUY, alpaca.OrderSide.BUY])
def test_a_side_in_any_spelling_is_our_enum(side: object) -> None:
    assert a_request(side=side).side is Side.BUY


@pytest.mark.parametrize("value", list(alpaca.OrderSide))
def test_every_alpaca_side_is_accepted(value: alpaca.OrderSide) -> None:
    assert a_request(side=value).side.value == value.value.upper()


@pytest.mark.parametrize("value", list(alpaca.OrderType))
def test_alpaca_order_types_we_trade_are_accepted_and_the_others_named(value: alpaca.OrderType) -> None:
    prices = {"limit_price": "1" if "limit" in value.value else None, "stop_price": "1" if "stop" in value.value else None}
    if value.value.upper() in OrderType.__members__:
        assert a_request(order_type=value, **prices).order_type is OrderType[value.value.upper()]
    else:
        assert "order_type" in violations(order_type=value, **prices)


@pytest.mark.parametrize("value", list(alpaca.TimeInForce))
def test_alpaca_times_in_force_we_trade_are_accepted_and_the_others_named(value: alpaca.TimeInForce) -> None:
    if value.value.upper() in TimeInForce.__members__:
        assert a_request(time_in_force=value).time_in_force is TimeInForce[value.value.upper()]
    else:
        assert "time_in_force" in violations(time_in_force=value)


@pytest.mark.parametrize("quantity", [10, "10", Decimal("10"), "10.0", Decimal("10.000")])
def test_quantity_as_int_str_or_decimal(quantity: object) -> None:
    assert a_request(quantity=quantity).quantity == Decimal(10)


@pytest.mark.parametrize("field", ["quantity", "limit_price"])
def test_a_float_is_refused_not_rounded(field: str) -> None:
    problem = violations(**{"order_type": "LIMIT", "limit_price": "1", field: 0.1})[field]
    assert "float" in problem and '"0.1"' in problem  # says what to pass instead


@pytest.mark.parametrize(
    "quantity", [0, -1, "0", "-3", "1e3", "1_000", " 1", "NaN", Decimal("NaN"), Decimal("Infinity"), True, [1],
                 "1.0000000000001", Decimal("1E+30")]
)
def test_a_quantity_that_is_not_a_positive_plain_decimal_is_refused(quantity: object) -> None:
    assert "quantity" in violations(quantity=quantity)


def test_the_client_order_id_is_generated_when_absent_and_kept_when_given() -> None:
    first, second = a_request(), a_request()
    assert first.client_order_id != second.client_order_id and IDENTIFIER.fullmatch(first.client_order_id)
    assert a_request(client_order_id="mine-1").client_order_id == "mine-1"


def test_every_bad_field_is_named_at_once_without_echoing_a_long_value() -> None:
    with pytest.raises(InvalidOrderRequest) as refused:
        OrderRequest(symbol="A" * 5000, side="hold", quantity=1.5, strategy_id="", order_type="LIMIT",
                     client_order_id="has space")
    assert [field for field, _ in refused.value.violations] == [
        "symbol", "side", "quantity", "strategy_id", "client_order_id", "limit_price",
    ]
    assert len(str(refused.value)) < 1000
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("order_type", "prices", "field"),
    [
        ("LIMIT", {}, "limit_price"),
        ("STOP", {}, "stop_price"),
        ("STOP_LIMIT", {"limit_price": "1"}, "stop_price"),
        ("MARKET", {"limit_price": "1"}, "limit_price"),
        ("LIMIT", {"limit_price": "1", "stop_price": "1"}, "stop_price"),
    ],
)
def test_prices_required_and_refused_by_order_type(order_type: str, prices: dict[str, str], field: str) -> None:
    assert field in violations(order_type=order_type, **prices)


def test_it_becomes_the_domain_order_spec() -> None:
    request = a_request(symbol="brk.b", side="sell", quantity="2.5", order_type="limit", limit_price=Decimal("410.25"),
                        time_in_force="gtc", client_order_id="c-1")
    assert request.to_order_spec() == OrderSpec(
        client_order_id="c-1", strategy_id="momentum_v1", symbol="BRK.B", side=Side.SELL, quantity=Decimal("2.5"),
        order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC, limit_price=Decimal("410.25"),
    )


def test_it_is_immutable() -> None:
    with pytest.raises(AttributeError):
        a_request().quantity = Decimal(1)  # type: ignore[misc]


# A positive quantity with at most 24 integer and 12 fraction digits, the edge's precision.
quantities = st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("1e24") - 1, places=12, allow_nan=False)


@given(quantities, st.sampled_from([str, Decimal]))
def test_any_quantity_the_edge_accepts_is_kept_exactly(quantity: Decimal, form: type) -> None:
    given_form = format(quantity, "f") if form is str else quantity
    assert a_request(quantity=given_form).quantity == quantity


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_float_is_ever_accepted(quantity: float) -> None:
    assert "float" in violations(quantity=quantity)["quantity"]


@given(st.integers(min_value=1, max_value=10**24 - 1))
def test_any_whole_quantity_within_precision_is_accepted(quantity: int) -> None:
    assert a_request(quantity=quantity).quantity == quantity
