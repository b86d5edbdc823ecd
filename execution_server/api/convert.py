"""Domain ⇄ protobuf wire forms: the enum tables (both directions), timestamps, and the
messages the service sends. What clients send is checked in validation.py, which reads requests
through these tables.

Every function here is named for its direction (`*_to_proto`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.base import BrokerAccount
from execution_server.domain.events import OrderUpdate
from execution_server.domain.money import format_decimal
from execution_server.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from execution_server.domain.positions import Position
from execution_server.reconcile.compare import Discrepancy, ReconcileReport

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


def account_to_proto(account: BrokerAccount) -> pb.GetAccountResponse:
    return pb.GetAccountResponse(
        cash=format_decimal(account.cash),
        buying_power=format_decimal(account.buying_power),
        equity=format_decimal(account.equity),
    )


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
