"""Each unary RPC once, for both clients: its arguments checked and made into a request, the
stub method that sends it, and how its answer becomes a model. The async and blocking clients
only send what these build (client.py, blocking.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from execution_client import convert
from execution_client._proto.execution.v1 import execution_pb2 as pb
from execution_client._proto.execution.v1 import risk_pb2, simulator_pb2
from execution_client.models import (
    Account,
    KillSwitchResult,
    OperatorAction,
    Order,
    Position,
    PriceSet,
    ReconcileResult,
    RiskLimits,
    RiskStatus,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Unary(Generic[T]):
    service: str  # "execution", "risk" or "simulator": which stub sends it
    method: str
    request: Message
    decode: Callable[[Any], T]


def place_order(
    *, symbol: str, side: Any, quantity: Any, strategy_id: str, order_type: Any = "MARKET",
    limit_price: Any = None, stop_price: Any = None, time_in_force: Any = "DAY", client_order_id: str | None = None,
) -> Unary[Order]:
    # Made here when absent, so that a caller who keeps the request can send it again: the
    # service answers a repeated client order id with the order it already has.
    request = convert.place_order_request(
        symbol=symbol, side=side, quantity=quantity, order_type=order_type, strategy_id=strategy_id,
        limit_price=limit_price, stop_price=stop_price, time_in_force=time_in_force,
        client_order_id=client_order_id if client_order_id is not None else str(uuid.uuid4()),
    )
    return Unary("execution", "PlaceOrder", request, lambda r: convert.order_of(r.order))


def _order_key(order_id: str | None, client_order_id: str | None) -> dict[str, str]:
    if (order_id is None) == (client_order_id is None):
        raise TypeError("give exactly one of order_id and client_order_id")
    return {"order_id": order_id} if order_id is not None else {"client_order_id": client_order_id or ""}


def cancel_order(order_id: str | None = None, *, client_order_id: str | None = None) -> Unary[Order]:
    request = pb.CancelOrderRequest(**_order_key(order_id, client_order_id))
    return Unary("execution", "CancelOrder", request, lambda r: convert.order_of(r.order))


def get_order(order_id: str | None = None, *, client_order_id: str | None = None) -> Unary[Order]:
    request = pb.GetOrderRequest(**_order_key(order_id, client_order_id))
    return Unary("execution", "GetOrder", request, lambda r: convert.order_of(r.order))


def list_orders_page(
    *, strategy_id: str | None, symbol: str | None, status: Any, page_size: int | None, page_token: str
) -> Unary[tuple[list[Order], str]]:
    request = pb.ListOrdersRequest(
        strategy_id=convert.optional_text(strategy_id), symbol=convert.optional_text(symbol),
        statuses=convert.statuses(status), page_size=_count("page_size", page_size), page_token=page_token,
    )
    return Unary(
        "execution", "ListOrders", request, lambda r: ([convert.order_of(o) for o in r.orders], r.next_page_token)
    )


def get_positions(strategy_id: str | None = None) -> Unary[list[Position]]:
    request = pb.GetPositionsRequest(strategy_id=convert.optional_text(strategy_id))
    return Unary("execution", "GetPositions", request, lambda r: [convert.position_of(p) for p in r.positions])


def reconcile(*, repair: bool = False) -> Unary[ReconcileResult]:
    return Unary("execution", "Reconcile", pb.ReconcileRequest(repair=_flag("repair", repair)), convert.reconcile_of)


def list_reconcile_runs(limit: int | None = None) -> Unary[list[ReconcileResult]]:
    request = pb.ListReconcileRunsRequest(limit=_count("limit", limit))
    return Unary("execution", "ListReconcileRuns", request, lambda r: [convert.reconcile_of(run) for run in r.runs])


def get_account() -> Unary[Account]:
    return Unary("execution", "GetAccount", pb.GetAccountRequest(), convert.account_of)


def get_risk_status() -> Unary[RiskStatus]:
    return Unary("risk", "GetRiskStatus", risk_pb2.GetRiskStatusRequest(), convert.risk_status_of)


def set_kill_switch(
    enabled: bool, *, reason: str = "", cancel_open_orders: bool = False, reduce_only: bool = False
) -> Unary[KillSwitchResult]:
    request = risk_pb2.SetKillSwitchRequest(
        engaged=_flag("enabled", enabled), reason=reason,
        cancel_open_orders=_flag("cancel_open_orders", cancel_open_orders),
        reduce_only=_flag("reduce_only", reduce_only),
    )
    return Unary("risk", "SetKillSwitch", request, convert.kill_switch_of)


def get_risk_limits(strategy_id: str | None = None) -> Unary[RiskLimits]:
    request = risk_pb2.GetRiskLimitsRequest(strategy_id=convert.optional_text(strategy_id))
    return Unary("risk", "GetRiskLimits", request, convert.risk_limits_of)


def list_operator_actions(limit: int | None = None, *, before_id: int | None = None) -> Unary[list[OperatorAction]]:
    request = risk_pb2.ListOperatorActionsRequest(limit=_count("limit", limit), before_id=_count("before_id", before_id))
    return Unary("risk", "ListOperatorActions", request, lambda r: [convert.operator_action_of(a) for a in r.actions])


def set_price(symbol: str, price: Any, *, available_quantity: Any = None) -> Unary[PriceSet]:
    request = simulator_pb2.SetPriceRequest(
        symbol=symbol, price=convert.decimal_text("price", price),
        available_quantity=convert.decimal_text("available_quantity", available_quantity, required=False),
    )
    return Unary("simulator", "SetPrice", request, convert.price_set_of)


def close_session() -> Unary[list[str]]:
    return Unary(
        "simulator", "CloseSession", simulator_pb2.CloseSessionRequest(), lambda r: list(r.expired_broker_order_ids)
    )


def set_broker_position(symbol: str, quantity: Any, average_entry_price: Any = None) -> Unary[None]:
    request = simulator_pb2.SetBrokerPositionRequest(
        symbol=symbol, quantity=convert.decimal_text("quantity", quantity),
        average_entry_price=convert.decimal_text("average_entry_price", average_entry_price, required=False),
    )
    return Unary("simulator", "SetBrokerPosition", request, _nothing)


def cancel_at_broker(broker_order_id: str) -> Unary[None]:
    request = simulator_pb2.CancelAtBrokerRequest(broker_order_id=broker_order_id)
    return Unary("simulator", "CancelAtBroker", request, _nothing)


def lose_events(count: int = 1) -> Unary[None]:
    return Unary("simulator", "LoseEvents", simulator_pb2.LoseEventsRequest(count=_count("count", count)), _nothing)


def stream_request(*, strategy_id: str | None, symbol: str | None, after_sequence: int) -> pb.StreamOrderUpdatesRequest:
    return pb.StreamOrderUpdatesRequest(
        strategy_id=convert.optional_text(strategy_id), symbol=convert.optional_text(symbol),
        after_sequence=after_sequence,
    )


def _nothing(_: Any) -> None:
    return None


def _count(name: str, value: int | None) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value}")
    return value


def _flag(name: str, value: bool) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return value


def sequence_start(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"from_sequence must be a non-negative int, not {value!r}")
    return value


