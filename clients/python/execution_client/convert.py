"""Both directions between Python values and the wire: arguments → request fields (checked here,
so a float never reaches the wire), and response messages → the dataclasses of models.py.

The service encodes every decimal as a plain string ("10", "0.000001") and every enum as its
proto number; see execution_server/api/convert.py on the other side.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.timestamp_pb2 import Timestamp

from execution_client._proto.execution.v1 import execution_pb2 as pb
from execution_client._proto.execution.v1 import risk_pb2, simulator_pb2
from execution_client.models import (
    Account,
    CancelFailure,
    Discrepancy,
    Fill,
    KillSwitchResult,
    OperatorAction,
    Order,
    OrderUpdate,
    Position,
    PriceSet,
    ReconcileResult,
    RiskLimits,
    RiskStatus,
)

# Each enum with the prefix its value names carry ("SIDE_BUY" is "BUY" here).
SIDE = (pb.Side, "SIDE_")
ORDER_TYPE = (pb.OrderType, "ORDER_TYPE_")
TIME_IN_FORCE = (pb.TimeInForce, "TIME_IN_FORCE_")
ORDER_STATUS = (pb.OrderStatus, "ORDER_STATUS_")
DISCREPANCY_KIND = (pb.DiscrepancyKind, "DISCREPANCY_KIND_")
TRADING_STATE = (risk_pb2.TradingState, "TRADING_STATE_")


# --- arguments → wire ---


def decimal_text(name: str, value: Decimal | int | str | None, *, required: bool = True) -> str:
    """`value` as the plain decimal string the service reads, exactly; "" for an optional None.
    A float is refused: most decimal prices have no exact float, and rounding is the caller's call."""
    if value is None:
        if required:
            raise TypeError(f"{name} is required (a Decimal, int or str)")
        return ""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        hint = "; pass Decimal(str(x)) or a string if you mean it" if isinstance(value, float) else ""
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__} ({value!r}){hint}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{name} must be a decimal number, not {value!r}") from None
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite decimal, not {value}")
    return format(value, "f")  # no exponent: 1E-6 is sent as 0.000001


def enum_value(name: str, value: int | str, enum: tuple[EnumTypeWrapper, str]) -> int:
    """An enum argument as its proto number: a name in any case, with or without its prefix
    ("buy", "BUY", "SIDE_BUY"; alpaca-py's string enums too), or the proto value itself."""
    wrapper, prefix = enum
    known = {key.removeprefix(prefix): number for key, number in wrapper.items() if number != 0}
    if isinstance(value, str):
        key = value.upper().removeprefix(prefix)
        if key in known:
            return known[key]
    elif isinstance(value, int) and not isinstance(value, bool):
        if value in known.values():
            return value
    else:
        raise TypeError(f"{name} must be a string or a {wrapper.DESCRIPTOR.name} value, not {type(value).__name__}")
    raise ValueError(f"{name} must be one of {', '.join(known)}, not {value!r}")


def optional_text(value: str | None) -> str:
    return "" if value is None else value


# --- wire → models ---


def enum_name(number: int, enum: tuple[EnumTypeWrapper, str]) -> str:
    """The short name of an enum number; a number this client does not know (a newer server)
    is shown as itself rather than failing the whole answer."""
    wrapper, prefix = enum
    try:
        return wrapper.Name(number).removeprefix(prefix)
    except ValueError:
        return str(number)


def time_of(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def decimal_of(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def optional_decimal_of(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def order_of(message: pb.Order) -> Order:
    return Order(
        order_id=message.order_id,
        client_order_id=message.client_order_id,
        broker_order_id=message.broker_order_id,
        strategy_id=message.strategy_id,
        symbol=message.symbol,
        side=enum_name(message.side, SIDE),
        order_type=enum_name(message.order_type, ORDER_TYPE),
        time_in_force=enum_name(message.time_in_force, TIME_IN_FORCE),
        quantity=decimal_of(message.quantity),
        limit_price=optional_decimal_of(message.limit_price),
        stop_price=optional_decimal_of(message.stop_price),
        status=enum_name(message.status, ORDER_STATUS),
        filled_quantity=decimal_of(message.filled_quantity),
        average_fill_price=optional_decimal_of(message.average_fill_price),
        reject_reason=message.reject_reason,
        created_at=time_of(message.created_at),
        updated_at=time_of(message.updated_at),
        broker_status=message.broker_status,
        in_flight=message.in_flight,
        cancel_reason=message.cancel_reason,
    )


def fill_of(message: pb.Fill) -> Fill:
    return Fill(
        execution_id=message.execution_id,
        quantity=decimal_of(message.quantity),
        price=decimal_of(message.price),
        time=time_of(message.time),
    )


def update_of(message: pb.StreamOrderUpdatesResponse) -> OrderUpdate:
    return OrderUpdate(
        sequence=message.sequence,
        order=order_of(message.order) if message.HasField("order") else None,
        fill=fill_of(message.fill) if message.HasField("fill") else None,
        time=time_of(message.time),
        event_type=message.event_type,
        detail=message.detail,
    )


def position_of(message: pb.Position) -> Position:
    return Position(
        symbol=message.symbol,
        quantity=decimal_of(message.quantity),
        average_entry_price=optional_decimal_of(message.average_entry_price),
        realized_pnl=decimal_of(message.realized_pnl),
        strategy_id=message.strategy_id,
    )


def discrepancy_of(message: pb.Discrepancy) -> Discrepancy:
    return Discrepancy(
        kind=enum_name(message.kind, DISCREPANCY_KIND),
        symbol=message.symbol,
        local_quantity=message.local_quantity,
        broker_quantity=message.broker_quantity,
        order_id=message.order_id,
        detail=message.detail,
        client_order_id=message.client_order_id,
    )


def reconcile_of(message: pb.ReconcileResponse) -> ReconcileResult:
    return ReconcileResult(
        has_discrepancies=message.has_discrepancies,
        discrepancies=tuple(discrepancy_of(d) for d in message.discrepancies),
        checked_at=time_of(message.checked_at),
        run_id=message.run_id,
        unresolved=tuple(discrepancy_of(d) for d in message.unresolved),
        trigger=message.trigger,
        repair=message.repair,
    )


def account_of(message: pb.GetAccountResponse) -> Account:
    return Account(
        cash=decimal_of(message.cash), buying_power=decimal_of(message.buying_power), equity=decimal_of(message.equity)
    )


def risk_status_of(message: risk_pb2.GetRiskStatusResponse) -> RiskStatus:
    return RiskStatus(
        kill_switch_engaged=message.kill_switch_engaged,
        kill_switch_reason=message.kill_switch_reason,
        trading_state=enum_name(message.trading_state, TRADING_STATE),
        reducing_strategies=dict(message.reducing_strategies),
    )


def kill_switch_of(message: risk_pb2.SetKillSwitchResponse) -> KillSwitchResult:
    return KillSwitchResult(
        kill_switch_engaged=message.kill_switch_engaged,
        kill_switch_reason=message.kill_switch_reason,
        trading_state=enum_name(message.trading_state, TRADING_STATE),
        cancelled_order_ids=tuple(message.cancelled_order_ids),
        cancel_failures=tuple(CancelFailure(f.order_id, f.reason) for f in message.cancel_failures),
    )


def risk_limits_of(message: risk_pb2.GetRiskLimitsResponse) -> RiskLimits:
    return RiskLimits(
        limits={key: optional_decimal_of(value) for key, value in sorted(message.limits.items())},
        strategy_id=message.strategy_id,
    )


def operator_action_of(message: risk_pb2.OperatorAction) -> OperatorAction:
    return OperatorAction(
        id=message.id, actor=message.actor, action=message.action, details_json=message.details_json,
        at=time_of(message.at),
    )


def price_set_of(message: simulator_pb2.SetPriceResponse) -> PriceSet:
    return PriceSet(symbol=message.symbol, price=decimal_of(message.price), fills=message.fills)


def place_order_request(
    *, symbol: str, side: Any, quantity: Any, order_type: Any, strategy_id: str, limit_price: Any,
    stop_price: Any, time_in_force: Any, client_order_id: str,
) -> pb.PlaceOrderRequest:
    return pb.PlaceOrderRequest(
        client_order_id=client_order_id,
        strategy_id=strategy_id,
        symbol=symbol,
        side=enum_value("side", side, SIDE),
        quantity=decimal_text("quantity", quantity),
        order_type=enum_value("order_type", order_type, ORDER_TYPE),
        limit_price=decimal_text("limit_price", limit_price, required=False),
        stop_price=decimal_text("stop_price", stop_price, required=False),
        time_in_force=enum_value("time_in_force", time_in_force, TIME_IN_FORCE),
    )


def statuses(value: Any) -> list[int]:
    """list_orders' status filter: None, one status, or several."""
    if value is None:
        return []
    if isinstance(value, (str, int)):
        value = [value]
    return [enum_value("status", item, ORDER_STATUS) for item in value]
