"""The fast conversions give what the straightforward ones they replaced gave: the same
Timestamp as protobuf's FromDatetime, the same decimal text and averages, the same JSON
snapshots and wire bytes, and the same errors. The replaced code is kept below as the reference."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from execution.v1 import execution_pb2 as pb
from execution_server.api import convert, validation
from execution_server.domain.events import Fill, OrderUpdate
from execution_server.domain.money import AVERAGE_SCALE, format_decimal, weighted_average
from execution_server.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from execution_server.store.codec import order_to_json, order_to_row
from tests.builders import an_order

# --- the reference: the code as it was before it was made faster ---

WIDE = Context(prec=200, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)
ZERO = Decimal(0)


def reference_format_decimal(value: Decimal | None) -> str:
    """The old code, less its bug: normalize() in the thread's context rounded to 28 digits."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    return format(value.normalize(Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)), "f")


def reference_weighted_average(
    previous_quantity: Decimal, previous_average: Decimal | None, quantity: Decimal, price: Decimal
) -> Decimal:
    """The declared rule said plainly (it replaced rounding to 60 significant digits): the exact
    notional over the total, half even to AVERAGE_SCALE places, in canonical form."""
    with localcontext(WIDE):
        total = previous_quantity + quantity
        if total == 0:
            raise ValueError("average over zero quantity")
        notional = (previous_average or ZERO) * previous_quantity + price * quantity
        rounded = (notional / total).quantize(Decimal(f"1e-{AVERAGE_SCALE}"))
        return Decimal(reference_format_decimal(rounded))


def reference_timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def reference_order_to_json(order: Order) -> str:
    def jsonable(value: Any) -> Any:
        if isinstance(value, Decimal):
            return reference_format_decimal(value)
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    row = order_to_row(order)
    return json.dumps({key: jsonable(value) for key, value in row.items()}, separators=(",", ":"))


def reference_order_to_proto(order: Order) -> pb.Order:
    spec, text = order.spec, reference_format_decimal
    return pb.Order(
        order_id=order.order_id,
        client_order_id=spec.client_order_id,
        broker_order_id=order.broker_order_id or "",
        strategy_id=spec.strategy_id,
        symbol=spec.symbol,
        side=convert.SIDE_TO_PROTO[spec.side],
        order_type=convert.ORDER_TYPE_TO_PROTO[spec.order_type],
        time_in_force=convert.TIME_IN_FORCE_TO_PROTO[spec.time_in_force],
        quantity=text(spec.quantity),
        limit_price=text(spec.limit_price),
        stop_price=text(spec.stop_price),
        status=convert.STATUS_TO_PROTO[order.status],
        filled_quantity=text(order.filled_quantity),
        average_fill_price=text(order.average_fill_price),
        reject_reason=order.reject_reason,
        created_at=reference_timestamp(order.created_at),
        updated_at=reference_timestamp(order.updated_at),
        broker_status=order.broker_status,
        in_flight=order.in_flight,
        cancel_reason=order.cancel_reason,
    )


def reference_encode_update(update: OrderUpdate) -> bytes:
    message = pb.StreamOrderUpdatesResponse(
        sequence=update.sequence,
        time=reference_timestamp(update.time),
        event_type=update.event_type,
        detail=update.detail,
    )
    if update.order is not None:
        message.order.CopyFrom(reference_order_to_proto(update.order))
    if update.fill is not None:
        message.fill.CopyFrom(
            pb.Fill(
                execution_id=update.fill.execution_id,
                quantity=reference_format_decimal(update.fill.quantity),
                price=reference_format_decimal(update.fill.price),
                time=reference_timestamp(update.fill.time),
            )
        )
    return message.SerializeToString()


def reference_check_prices(problems: Any, order_type: OrderType, request: pb.PlaceOrderRequest) -> None:
    if order_type.needs_limit_price and not request.limit_price:
        problems.add("limit_price", f"required for {order_type.value} orders")
    if not order_type.needs_limit_price and request.limit_price:
        problems.add("limit_price", f"not allowed on {order_type.value} orders")
    if order_type.needs_stop_price and not request.stop_price:
        problems.add("stop_price", f"required for {order_type.value} orders")
    if not order_type.needs_stop_price and request.stop_price:
        problems.add("stop_price", f"not allowed on {order_type.value} orders")


def outcome(function: Callable[..., Any], *args: Any) -> Any:
    """What a call gives: its result, or its error's type and message."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - the error is the outcome being compared
        return type(error), str(error)


def stamp_outcome(function: Callable[[Any], Timestamp], value: Any) -> Any:
    result = outcome(function, value)
    return (result.seconds, result.nanos) if isinstance(result, Timestamp) else result


def decimal_outcome(function: Callable[..., Any], *args: Any) -> Any:
    """Decimals compared with their representation: 187.20 is not 187.2 here."""
    result = outcome(function, *args)
    return (repr(result), result.as_tuple()) if isinstance(result, Decimal) else result


# --- strategies ---

# Fixed offsets down to the microsecond (which FromDatetime mishandles, and must still be
# matched), and the IANA zones with their gaps, folds and historical second offsets.
offsets = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)))
zones = st.one_of(st.just(UTC), offsets, st.timezones())
# The whole range of datetime: near its ends an offset takes the instant outside a Timestamp.
aware_datetimes = st.datetimes(timezones=zones)
sane_times = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones)

# Decimals of every shape: long coefficients (past the default 28 digits), trailing zeros,
# positive and very negative exponents, signed zeros, and the non-finite values.
built_decimals = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(int(d) for d in digits), exponent)),
    st.integers(0, 1),
    st.text("0123456789", min_size=1, max_size=40),
    st.integers(-40, 40),
)
special_decimals = st.sampled_from(
    [Decimal(text) for text in ("0", "-0", "0E+3", "0.000", "NaN", "-NaN", "NaN12", "sNaN", "Infinity", "-Infinity")]
)
any_decimals = st.one_of(built_decimals, st.decimals(), special_decimals)
money = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1e9"), places=6) | built_decimals.filter(
    lambda d: d > 0
)


# --- timestamps ---


@settings(max_examples=1000)
@given(aware_datetimes)
@example(datetime(1970, 1, 1, tzinfo=UTC))
@example(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
@example(datetime.min.replace(tzinfo=UTC))
@example(datetime.max.replace(tzinfo=UTC))
@example(datetime.min.replace(tzinfo=timezone(timedelta(hours=1))))
@example(datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))))
@example(datetime(2026, 11, 25, 12, tzinfo=timezone(timedelta(microseconds=500_000))))
def test_an_aware_datetime_gives_the_seconds_and_nanos_of_from_datetime(value: datetime) -> None:
    assert stamp_outcome(convert.timestamp, value) == stamp_outcome(reference_timestamp, value)


@given(st.datetimes())
def test_a_naive_datetime_still_counts_as_utc(value: datetime) -> None:
    assert stamp_outcome(convert.timestamp, value) == stamp_outcome(reference_timestamp, value)


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> None:
        return None


class _BadOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> Any:
        return 3600


class _Subclass(datetime):
    pass


@pytest.mark.parametrize(
    "value",
    [
        datetime(1969, 7, 20, 20, 17, 40, 5, tzinfo=_NoOffset()),
        datetime(2026, 1, 1, tzinfo=_BadOffset()),
        _Subclass(2026, 11, 25, 14, 30, tzinfo=UTC),
        date(2026, 11, 25),
        None,
        "2026-11-25T14:30:00Z",
        1_795_000_000,
    ],
    ids=["offset-none", "offset-not-timedelta", "datetime-subclass", "date", "none", "text", "number"],
)
def test_odd_values_give_what_from_datetime_gives(value: Any) -> None:
    assert stamp_outcome(convert.timestamp, value) == stamp_outcome(reference_timestamp, value)


# --- decimals ---


@settings(max_examples=1000)
@given(st.none() | any_decimals)
def test_format_decimal_gives_the_same_text(value: Decimal | None) -> None:
    assert outcome(format_decimal, value) == outcome(reference_format_decimal, value)


@settings(max_examples=1000)
@given(st.decimals(allow_nan=False, allow_infinity=False) | built_decimals, st.integers(1, 60), st.sampled_from([0, 1]))
@example(Decimal("123456789012345678901234.123456789012"), 28, 1)  # 36 digits: the API accepts them
@example(Decimal("187.253333333333333333333333333333333333333333333333333333333"), 28, 1)  # an average's 60
def test_format_decimal_is_exact_and_canonical_whatever_the_digits_and_the_context(
    value: Decimal, precision: int, capitals: int
) -> None:
    with localcontext() as context:
        context.prec, context.capitals = precision, capitals
        text = format_decimal(value)
    assert Decimal(text) == value  # nothing rounded
    assert "e" not in text.lower() and not text.startswith("+")
    assert text == "0" or not ("." in text and text.endswith("0")) and not text.endswith(".")
    assert text != "-0"


@settings(max_examples=1000)
@given(any_decimals, st.none() | any_decimals, any_decimals, any_decimals)
@example(Decimal(0), None, Decimal(0), Decimal(1))
@example(Decimal(1), Decimal(2), Decimal(-1), Decimal(3))
@example(Decimal(0), None, Decimal(-5), Decimal("-0"))
@example(Decimal(3), Decimal("187.20"), Decimal(7), Decimal("187.20"))
def test_weighted_average_gives_the_same_value_and_exponent(
    previous_quantity: Decimal, previous_average: Decimal | None, quantity: Decimal, price: Decimal
) -> None:
    args = (previous_quantity, previous_average, quantity, price)
    assert decimal_outcome(weighted_average, *args) == decimal_outcome(reference_weighted_average, *args)


@given(money, st.none() | money, money, money, st.integers(1, 40))
def test_weighted_average_ignores_the_callers_context(
    previous_quantity: Decimal, previous_average: Decimal | None, quantity: Decimal, price: Decimal, precision: int
) -> None:
    args = (previous_quantity, previous_average, quantity, price)
    with localcontext() as context:
        context.prec = precision
        assert decimal_outcome(weighted_average, *args) == decimal_outcome(reference_weighted_average, *args)


# --- orders: JSON snapshots and wire bytes ---

texts = st.text(max_size=12)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    return an_order(
        status=draw(st.sampled_from(OrderStatus)),
        order_id=draw(texts),
        client_order_id=draw(texts),
        strategy_id=draw(texts),
        symbol=draw(texts),
        side=draw(st.sampled_from(Side)),
        order_type=draw(st.sampled_from(OrderType)),
        time_in_force=draw(st.sampled_from(TimeInForce)),
        quantity=draw(money),
        limit_price=draw(st.none() | money),
        stop_price=draw(st.none() | money),
        filled_quantity=draw(money | st.just(ZERO)),
        average_fill_price=draw(st.none() | money | special_decimals),
        broker_order_id=draw(st.none() | texts),
        broker_status=draw(texts),
        reject_reason=draw(texts),
        cancel_reason=draw(texts),
        in_flight=draw(st.booleans()),
        cancel_requested=draw(st.booleans()),
        created_at=draw(sane_times | aware_datetimes),
        updated_at=draw(sane_times),
    )


@settings(max_examples=500)
@given(orders())
def test_order_to_json_gives_the_same_text(order: Order) -> None:
    assert outcome(order_to_json, order) == outcome(reference_order_to_json, order)


def _serialised(function: Callable[[Order], pb.Order]) -> Callable[[Order], bytes]:
    return lambda order: function(order).SerializeToString()


@settings(max_examples=500)
@given(orders())
def test_order_to_proto_gives_the_same_bytes(order: Order) -> None:
    assert outcome(_serialised(convert.order_to_proto), order) == outcome(
        _serialised(reference_order_to_proto), order
    )


@settings(max_examples=500)
@given(
    st.integers(0, 2**64 - 1),
    texts,
    sane_times,
    st.none() | orders(),
    st.none() | st.builds(Fill, texts, texts, money, money, sane_times | aware_datetimes),
    texts,
)
def test_encode_update_gives_the_same_bytes(
    sequence: int, event_type: str, time: datetime, order: Order | None, fill: Fill | None, detail: str
) -> None:
    update = OrderUpdate(sequence, event_type, "s", "AAPL", time, order, fill, detail)
    assert outcome(convert.encode_update, update) == outcome(reference_encode_update, update)


@pytest.mark.parametrize("order_type", list(OrderType))
@pytest.mark.parametrize("limit_price", ["", "10"])
@pytest.mark.parametrize("stop_price", ["", "9"])
def test_price_checks_report_what_they_did(order_type: OrderType, limit_price: str, stop_price: str) -> None:
    request = pb.PlaceOrderRequest(limit_price=limit_price, stop_price=stop_price)
    fast, reference = validation._Violations(), validation._Violations()
    validation._check_prices(fast, order_type, request)
    reference_check_prices(reference, order_type, request)
    assert fast.items == reference.items
