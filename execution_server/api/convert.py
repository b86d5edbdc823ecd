"""Protobuf ⇄ domain, and nothing else: validation of what clients send, and the wire forms.

Every function here is named for its direction (`*_from_proto`, `*_to_proto`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp

from execution.v1 import execution_pb2 as pb
from execution_server.domain.events import OrderUpdate
from execution_server.domain.money import InvalidDecimal, beyond_precision, format_decimal, parse_decimal
from execution_server.domain.orders import (
    LIMIT_PRICED,
    STOP_PRICED,
    Order,
    OrderSpec,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from execution_server.domain.positions import Position
from execution_server.reconcile.compare import Discrepancy
from execution_server.reconcile.compare import ReconcileReport

SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]{0,31}$")
IDENTIFIER = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
DEFAULT_UPDATES_PER_MESSAGE = 500
MAX_UPDATES_PER_MESSAGE = 10_000  # bounds the bytes a stalled batch stream holds

SIDES = {pb.SIDE_BUY: Side.BUY, pb.SIDE_SELL: Side.SELL}
ORDER_TYPES = {
    pb.ORDER_TYPE_MARKET: OrderType.MARKET,
    pb.ORDER_TYPE_LIMIT: OrderType.LIMIT,
    pb.ORDER_TYPE_STOP: OrderType.STOP,
    pb.ORDER_TYPE_STOP_LIMIT: OrderType.STOP_LIMIT,
}
TIMES_IN_FORCE = {
    pb.TIME_IN_FORCE_UNSPECIFIED: TimeInForce.DAY,
    pb.TIME_IN_FORCE_DAY: TimeInForce.DAY,
    pb.TIME_IN_FORCE_GTC: TimeInForce.GTC,
    pb.TIME_IN_FORCE_IOC: TimeInForce.IOC,
    pb.TIME_IN_FORCE_FOK: TimeInForce.FOK,
}
STATUSES = {
    pb.ORDER_STATUS_PENDING: OrderStatus.PENDING,
    pb.ORDER_STATUS_SUBMITTED: OrderStatus.SUBMITTED,
    pb.ORDER_STATUS_PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    pb.ORDER_STATUS_FILLED: OrderStatus.FILLED,
    pb.ORDER_STATUS_CANCELLED: OrderStatus.CANCELLED,
    pb.ORDER_STATUS_REJECTED: OrderStatus.REJECTED,
}
# The reverse tables, derived so that the two directions cannot disagree.
SIDE_TO_PROTO = {domain: wire for wire, domain in SIDES.items()}
ORDER_TYPE_TO_PROTO = {domain: wire for wire, domain in ORDER_TYPES.items()}
TIME_IN_FORCE_TO_PROTO = {domain: wire for wire, domain in TIMES_IN_FORCE.items() if wire}
STATUS_TO_PROTO = {domain: wire for wire, domain in STATUSES.items()}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# A Timestamp's range, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z: the UTC instants a datetime
# can hold. Beyond them (an aware datetime near either end) FromDatetime raises OverflowError.
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799


class InvalidRequest(Exception):
    """One or more fields of a request are wrong; each violation names its field."""

    def __init__(self, violations: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in violations))
        self.violations = list(violations)


class _Violations:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, problem: str) -> None:
        self.items.append((field, problem))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidRequest(self.items)


def order_spec_from_proto(request: pb.PlaceOrderRequest) -> OrderSpec:
    """Validate a PlaceOrderRequest completely, reporting every bad field at once."""
    problems = _Violations()
    client_order_id = request.client_order_id  # empty: the OMS assigns one
    if client_order_id and not IDENTIFIER.match(client_order_id):
        problems.add("client_order_id", "must be 1 to 128 printable ASCII characters without spaces")
    if not IDENTIFIER.match(request.strategy_id):
        problems.add("strategy_id", "required: 1 to 128 printable ASCII characters without spaces")
    symbol = request.symbol.strip().upper()
    if not SYMBOL.match(symbol):
        problems.add("symbol", f"expected a ticker such as AAPL or BRK.B, got {request.symbol!r}")
    side = SIDES.get(request.side)
    if side is None:
        problems.add("side", "required: SIDE_BUY or SIDE_SELL")
    quantity = _positive_decimal(problems, "quantity", request.quantity, required=True)
    order_type = ORDER_TYPES.get(request.order_type)
    if order_type is None:
        problems.add("order_type", "required: MARKET, LIMIT, STOP or STOP_LIMIT")
    time_in_force = TIMES_IN_FORCE.get(request.time_in_force)
    if time_in_force is None:
        problems.add("time_in_force", f"unknown value {request.time_in_force}")
    limit_price = _positive_decimal(problems, "limit_price", request.limit_price, required=False)
    stop_price = _positive_decimal(problems, "stop_price", request.stop_price, required=False)
    if order_type is not None:
        _check_prices(problems, order_type, request)
    problems.raise_if_any()
    assert side and quantity and order_type and time_in_force
    return OrderSpec(
        client_order_id=client_order_id,
        strategy_id=request.strategy_id,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        time_in_force=time_in_force,
        limit_price=limit_price,
        stop_price=stop_price,
    )


def _check_prices(problems: _Violations, order_type: OrderType, request: pb.PlaceOrderRequest) -> None:
    needs_limit_price = order_type in LIMIT_PRICED
    needs_stop_price = order_type in STOP_PRICED
    limit_price, stop_price = request.limit_price, request.stop_price
    if needs_limit_price and not limit_price:
        problems.add("limit_price", f"required for {order_type.value} orders")
    if not needs_limit_price and limit_price:
        problems.add("limit_price", f"not allowed on {order_type.value} orders")
    if needs_stop_price and not stop_price:
        problems.add("stop_price", f"required for {order_type.value} orders")
    if not needs_stop_price and stop_price:
        problems.add("stop_price", f"not allowed on {order_type.value} orders")


def _positive_decimal(problems: _Violations, field: str, text: str, *, required: bool) -> Decimal | None:
    if not text:
        if required:
            problems.add(field, "required: a positive decimal string such as \"10\" or \"0.5\"")
        return None
    try:
        value = parse_decimal(text)
    except InvalidDecimal as error:
        problems.add(field, f"expected a decimal string: {error}")
        return None
    if value <= 0:
        problems.add(field, f"must be positive, got {text!r}")
        return None
    problem = out_of_bounds(value, text)
    if problem:
        problems.add(field, problem)
        return None
    return value


def out_of_bounds(value: Decimal, text: str) -> str:
    """Why a quantity or price is beyond the declared precision (domain.money), or ""."""
    problem = beyond_precision(value)
    return f"{problem}, got {text!r}" if problem else ""


def order_reference_from_proto(request: pb.GetOrderRequest | pb.CancelOrderRequest) -> tuple[str, str]:
    if not request.order_id and not request.client_order_id:
        raise InvalidRequest([("order_id", "either order_id or client_order_id is required")])
    return request.order_id, request.client_order_id


def max_updates_from_proto(request: pb.StreamOrderUpdateBatchesRequest) -> int:
    """Updates per message of a batch stream: zero means the default."""
    if request.max_updates > MAX_UPDATES_PER_MESSAGE:
        raise InvalidRequest([("max_updates", f"at most {MAX_UPDATES_PER_MESSAGE}, got {request.max_updates}")])
    return request.max_updates or DEFAULT_UPDATES_PER_MESSAGE


def statuses_from_proto(values: Sequence[int]) -> list[OrderStatus]:
    problems = _Violations()
    statuses = []
    for index, value in enumerate(values):
        status = STATUSES.get(value)  # type: ignore[call-overload]
        if status is None:
            problems.add(f"statuses[{index}]", f"not an order status: {value}")
        else:
            statuses.append(status)
    problems.raise_if_any()
    return statuses


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    _set_timestamp(stamp, value)
    return stamp


def _set_timestamp(stamp: Timestamp, value: datetime) -> None:
    """Set `stamp` as protobuf's FromDatetime would (a naive datetime counts as UTC), in integer
    arithmetic: FromDatetime goes through a time tuple and calendar.timegm, which cost a few per
    cent of the server's CPU."""
    seconds = _epoch_seconds(value)
    if seconds is None:  # FromDatetime refuses the value with its own error, or knows better
        stamp.FromDatetime(value)
        return
    stamp.seconds = seconds
    # The microsecond of the datetime as given, as FromDatetime takes it. It differs from the
    # instant's only under an offset with microseconds, where FromDatetime is off by it too.
    stamp.nanos = value.microsecond * 1000


def _epoch_seconds(value: datetime) -> int | None:
    """Whole seconds from 1970 to `value`, floored as FromDatetime counts them; None for what
    only FromDatetime can settle: not exactly a datetime, an offset of None, out of range."""
    if type(value) is not datetime:
        return None
    try:
        delta = value - (_NAIVE_EPOCH if value.tzinfo is None else _EPOCH)
    except TypeError:  # a tzinfo whose utcoffset() is None (naive after all), or is broken
        return None
    seconds = delta.days * 86400 + delta.seconds  # timedelta keeps days signed, the rest positive
    return seconds if _MIN_SECONDS <= seconds <= _MAX_SECONDS else None


def order_to_proto(order: Order) -> pb.Order:
    spec = order.spec
    message = pb.Order(
        order_id=order.order_id,
        client_order_id=spec.client_order_id,
        broker_order_id=order.broker_order_id or "",
        strategy_id=spec.strategy_id,
        symbol=spec.symbol,
        side=SIDE_TO_PROTO[spec.side],
        order_type=ORDER_TYPE_TO_PROTO[spec.order_type],
        time_in_force=TIME_IN_FORCE_TO_PROTO[spec.time_in_force],
        quantity=format_decimal(spec.quantity),
        limit_price=format_decimal(spec.limit_price),
        stop_price=format_decimal(spec.stop_price),
        status=STATUS_TO_PROTO[order.status],
        filled_quantity=format_decimal(order.filled_quantity),
        average_fill_price=format_decimal(order.average_fill_price),
        reject_reason=order.reject_reason,
        broker_status=order.broker_status,
        in_flight=order.in_flight,
        cancel_reason=order.cancel_reason,
    )
    # Set in place: a Timestamp passed to the constructor would be built, then copied.
    _set_timestamp(message.created_at, order.created_at)
    _set_timestamp(message.updated_at, order.updated_at)
    return message


def update_to_proto(update: OrderUpdate) -> pb.StreamOrderUpdatesResponse:
    message = pb.StreamOrderUpdatesResponse(
        sequence=update.sequence, event_type=update.event_type, detail=update.detail
    )
    _set_timestamp(message.time, update.time)
    if update.order is not None:
        message.order.CopyFrom(order_to_proto(update.order))
    if update.fill is not None:
        fill = message.fill  # setting a field of it marks it present, as CopyFrom did
        fill.execution_id = update.fill.execution_id
        fill.quantity = format_decimal(update.fill.quantity)
        fill.price = format_decimal(update.fill.price)
        _set_timestamp(fill.time, update.fill.time)
    return message


def encode_update(update: OrderUpdate) -> bytes:
    """The one serialisation of an update: fan-out sends these bytes to every subscriber."""
    return update_to_proto(update).SerializeToString()


def position_to_proto(position: Position, strategy_id: str) -> pb.Position:
    return pb.Position(
        symbol=position.symbol,
        quantity=format_decimal(position.quantity),
        average_entry_price=format_decimal(position.average_entry_price),
        realized_pnl=format_decimal(position.realized_pnl),
        strategy_id=strategy_id,
    )


def discrepancy_to_proto(discrepancy: Discrepancy) -> pb.Discrepancy:
    return pb.Discrepancy(
        kind=int(discrepancy.kind),  # DiscrepancyKind is numbered as the proto enum
        symbol=discrepancy.symbol,
        local_quantity=discrepancy.local_quantity,
        broker_quantity=discrepancy.broker_quantity,
        order_id=discrepancy.order_id,
        detail=discrepancy.detail,
        client_order_id=discrepancy.client_order_id,
    )


def reconcile_report_to_proto(report: ReconcileReport) -> pb.ReconcileResponse:
    return pb.ReconcileResponse(
        has_discrepancies=report.has_discrepancies,
        discrepancies=[discrepancy_to_proto(d) for d in report.result.discrepancies],
        checked_at=timestamp(report.result.checked_at),
        run_id=report.run_id,
        unresolved=[discrepancy_to_proto(d) for d in report.unresolved],
        trigger=report.trigger,
        repair=report.repair,
    )
