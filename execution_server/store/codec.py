"""Rows and JSON snapshots ⇄ domain values. Decimals travel as strings, never floats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from execution_server.domain.money import format_decimal
from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce
from execution_server.reconcile.compare import Discrepancy, DiscrepancyKind, ReconcileReport, ReconciliationResult


def order_to_row(order: Order, position: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "broker_order_id": order.broker_order_id,
        "strategy_id": order.strategy_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "order_type": order.spec.order_type.value,
        "time_in_force": order.spec.time_in_force.value,
        "quantity": order.quantity,
        "limit_price": order.spec.limit_price,
        "stop_price": order.spec.stop_price,
        "status": order.status.value,
        "is_open": order.status.is_open,
        "filled_quantity": order.filled_quantity,
        "average_fill_price": order.average_fill_price,
        "broker_status": order.broker_status,
        "reject_reason": order.reject_reason,
        "cancel_reason": order.cancel_reason,
        "in_flight": order.in_flight,
        "cancel_requested": order.cancel_requested,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    if position is not None:
        row["position"] = position
    return row


def order_from_row(row: Mapping[str, Any]) -> Order:
    spec = OrderSpec(
        client_order_id=row["client_order_id"],
        strategy_id=row["strategy_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=row["quantity"],
        order_type=OrderType(row["order_type"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        limit_price=row["limit_price"],
        stop_price=row["stop_price"],
    )
    return Order(
        order_id=row["order_id"],
        spec=spec,
        status=OrderStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        filled_quantity=row["filled_quantity"],
        average_fill_price=row["average_fill_price"],
        broker_order_id=row["broker_order_id"],
        broker_status=row["broker_status"] or "",
        reject_reason=row["reject_reason"] or "",
        cancel_reason=row["cancel_reason"] or "",
        in_flight=bool(row["in_flight"]),
        cancel_requested=bool(row["cancel_requested"]),
    )


def order_to_json(order: Order) -> str:
    row = order_to_row(order)
    # Only these need converting: the rest are str, bool or None, which JSON carries as they are.
    for key in (*_DECIMAL_KEYS, *_TIME_KEYS):
        row[key] = _jsonable(row[key])
    return _JSON.encode(row)


def order_from_json(text: str) -> Order:
    raw = json.loads(text)
    for key in _DECIMAL_KEYS:
        raw[key] = Decimal(raw[key]) if raw[key] is not None else None
    for key in _TIME_KEYS:
        raw[key] = datetime.fromisoformat(raw[key])
    return order_from_row(raw)


def reconcile_result_to_json(discrepancies: Sequence[Discrepancy], unresolved: Sequence[Discrepancy]) -> str:
    """A run's findings as the reconcile_runs row keeps them."""
    return json.dumps(
        {
            "discrepancies": [_discrepancy_json(d) for d in discrepancies],
            "unresolved": [_discrepancy_json(d) for d in unresolved],
        }
    )


def reconcile_report_from_row(run: Mapping[str, Any]) -> ReconcileReport:
    body = json.loads(str(run["result"]))
    checked_at = run["checked_at"]
    assert isinstance(checked_at, datetime)
    found = tuple(_discrepancy_from_json(item) for item in body["discrepancies"])
    return ReconcileReport(
        run_id=int(run["run_id"]),
        trigger=str(run["trigger"]),
        repair=bool(run["repair"]),
        result=ReconciliationResult(found, checked_at),
        unresolved=tuple(_discrepancy_from_json(item) for item in body["unresolved"]),
    )


def _discrepancy_from_json(item: dict[str, str]) -> Discrepancy:
    return Discrepancy(
        kind=DiscrepancyKind[item["kind"]],
        symbol=item["symbol"],
        local_quantity=item["local_quantity"],
        broker_quantity=item["broker_quantity"],
        order_id=item["order_id"],
        detail=item["detail"],
        client_order_id=item["client_order_id"],
    )


def _discrepancy_json(discrepancy: Discrepancy) -> dict[str, str]:
    return {
        "kind": discrepancy.kind.name,
        "symbol": discrepancy.symbol,
        "local_quantity": discrepancy.local_quantity,
        "broker_quantity": discrepancy.broker_quantity,
        "order_id": discrepancy.order_id,
        "client_order_id": discrepancy.client_order_id,
        "detail": discrepancy.detail,
    }


# The row's values that JSON writes as text, both ways.
_DECIMAL_KEYS = ("quantity", "limit_price", "stop_price", "filled_quantity", "average_fill_price")
_TIME_KEYS = ("created_at", "updated_at")
# One encoder for every snapshot: json.dumps builds a new one on each call given separators.
_JSON = json.JSONEncoder(separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
