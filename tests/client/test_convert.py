"""The client's pure parts: arguments to wire fields, wire to models, the BadRequest decoding,
and the stream's resume policy. No server: these are the edge cases a server rarely shows."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest
from alpaca.trading.enums import OrderSide, OrderType, TimeInForce
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from execution_client import FieldViolation, InvalidArgument, Unavailable
from execution_client._proto.execution.v1 import execution_pb2 as pb
from execution_client.convert import ORDER_TYPE, SIDE, TIME_IN_FORCE, decimal_text, enum_name, enum_value, update_of
from execution_client.errors import ERROR_FOR_CODE, ExecutionError, violations_in
from execution_client.resume import Backoff, ResumePoint, is_retryable


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("10"), "10"), (Decimal("0.000001"), "0.000001"), (Decimal("1E-6"), "0.000001"),
    (Decimal("1.5E+3"), "1500"), (7, "7"), ("0.10", "0.10"), ("1e-3", "0.001"),
    (Decimal("123456789012345678901234.123456789012"), "123456789012345678901234.123456789012"),
])
def test_decimals_are_sent_as_plain_exact_text(value: object, text: str) -> None:
    assert decimal_text("quantity", value) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), True, [1], b"1"])
def test_what_is_not_a_decimal_is_a_type_error_naming_the_argument(value: object) -> None:
    with pytest.raises(TypeError, match="^limit_price must be a Decimal, int or str"):
        decimal_text("limit_price", value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "ten", "1,5", Decimal("Infinity"), "NaN"])
def test_a_string_or_decimal_that_is_no_finite_number_is_a_value_error(value: object) -> None:
    with pytest.raises(ValueError, match="^price must be a"):
        decimal_text("price", value)  # type: ignore[arg-type]


def test_an_optional_decimal_may_be_none_a_required_one_may_not() -> None:
    assert decimal_text("stop_price", None, required=False) == ""
    with pytest.raises(TypeError, match="quantity is required"):
        decimal_text("quantity", None)


@pytest.mark.parametrize(("value", "expected"), [
    ("BUY", pb.SIDE_BUY), ("buy", pb.SIDE_BUY), ("SIDE_SELL", pb.SIDE_SELL), (pb.SIDE_SELL, pb.SIDE_SELL),
    (OrderSide.BUY, pb.SIDE_BUY),
])
def test_sides_in_every_spelling(value: object, expected: int) -> None:
    assert enum_value("side", value, SIDE) == expected  # type: ignore[arg-type]


def test_alpaca_py_spellings_of_order_types_and_times_in_force() -> None:
    assert enum_value("order_type", OrderType.STOP_LIMIT, ORDER_TYPE) == pb.ORDER_TYPE_STOP_LIMIT
    assert enum_value("time_in_force", TimeInForce.GTC, TIME_IN_FORCE) == pb.TIME_IN_FORCE_GTC


@pytest.mark.parametrize("value", ["HOLD", "UNSPECIFIED", "", 0, 9])
def test_an_unknown_or_unspecified_enum_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="side must be one of BUY, SELL"):
        enum_value("side", value, SIDE)  # type: ignore[arg-type]


def test_an_enum_number_this_client_does_not_know_is_shown_as_itself() -> None:
    assert enum_name(pb.SIDE_SELL, SIDE) == "SELL" and enum_name(42, SIDE) == "42"


def test_an_update_without_a_fill_or_order_has_none() -> None:
    update = update_of(pb.StreamOrderUpdatesResponse(sequence=3, event_type="placed"))
    assert (update.sequence, update.order, update.fill, update.event_type) == (3, None, None, "placed")


def _trailers(*details: object) -> tuple[tuple[str, bytes], ...]:
    status = status_pb2.Status(code=3, message="bad")
    for detail in details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return (("grpc-status-details-bin", status.SerializeToString()),)


def test_field_violations_are_decoded_from_the_status_details_trailer() -> None:
    bad = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field="symbol", description="1 to 32 letters"),
        error_details_pb2.BadRequest.FieldViolation(field="quantity", description="must be positive"),
    ])
    other = error_details_pb2.RetryInfo()
    assert violations_in(_trailers(other, bad)) == [
        FieldViolation("symbol", "1 to 32 letters"), FieldViolation("quantity", "must be positive"),
    ]


def test_no_trailer_or_a_malformed_one_means_no_violations() -> None:
    assert violations_in(None) == [] and violations_in(()) == []
    assert violations_in((("grpc-status-details-bin", b"\xff\xff not a status"),)) == []


def test_each_code_has_its_class_and_the_rest_the_base() -> None:
    assert ERROR_FOR_CODE[grpc.StatusCode.INVALID_ARGUMENT] is InvalidArgument
    assert ERROR_FOR_CODE[grpc.StatusCode.UNAVAILABLE] is Unavailable
    assert grpc.StatusCode.DATA_LOSS not in ERROR_FOR_CODE
    error = InvalidArgument(grpc.StatusCode.INVALID_ARGUMENT, "invalid", [FieldViolation("symbol", "bad")])
    assert isinstance(error, ExecutionError) and str(error) == "INVALID_ARGUMENT: invalid; symbol: bad"


@pytest.mark.parametrize(("code", "retry"), [
    (grpc.StatusCode.UNAVAILABLE, True), (grpc.StatusCode.INTERNAL, True), (grpc.StatusCode.UNKNOWN, True),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, True), (grpc.StatusCode.UNAUTHENTICATED, False),
    (grpc.StatusCode.PERMISSION_DENIED, False), (grpc.StatusCode.INVALID_ARGUMENT, False),
    (grpc.StatusCode.OUT_OF_RANGE, False),
])
def test_which_stream_failures_are_retried(code: grpc.StatusCode, retry: bool) -> None:
    assert is_retryable(code) is retry


def test_backoff_grows_to_its_maximum_and_resets() -> None:
    backoff = Backoff(initial=0.1, maximum=2.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert 0.05 <= delays[0] <= 0.1 and all(1.0 <= d <= 2.0 for d in delays[6:])
    backoff.reset()
    assert backoff.next_delay() <= 0.1


def test_the_resume_point_admits_only_later_sequences() -> None:
    point = ResumePoint(after_sequence=5)
    assert [point.admit(s) for s in (3, 5, 6, 6, 9, 7)] == [False, False, True, False, True, False]
    assert point.after_sequence == 9
