"""Validation of POST and PATCH order bodies, with the 422s Alpaca gives (§2.1, §3.5).

Numbers arrive as JSON floats (parsed as Decimal) or numeric strings; both are accepted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from execution_server.brokers.alpaca.emulator.matching import sub_penny
from execution_server.brokers.alpaca.emulator.orders import ORDER_TYPES, SIDES, TIMES_IN_FORCE, EmulatedOrder
from execution_server.brokers.alpaca.emulator.wire import UNPROCESSABLE, ApiError, decimal_text, invalid, to_decimal

_INTENTS = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")


def parse_order(body: Any) -> dict[str, Any]:
    """The EmulatedOrder fields of a POST /v2/orders body (plus `client_order_id`, maybe None)."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise invalid("symbol is required")
    side = _choice(body, "side", SIDES)
    order_type = _choice(body, "type", ORDER_TYPES)
    time_in_force = _choice(body, "time_in_force", TIMES_IN_FORCE)
    if body.get("order_class") not in (None, "", "simple"):
        raise invalid(f"order_class {body['order_class']} is not supported by the emulator")
    qty = to_decimal("qty", body.get("qty"))
    notional = to_decimal("notional", body.get("notional"))
    if (qty is None) == (notional is None):
        raise invalid("qty or notional is required, not both")
    for name, amount in (("qty", qty), ("notional", notional)):
        if amount is not None and amount <= 0:
            raise invalid(f"{name} must be > 0")
    if notional is not None and (order_type != "market" or time_in_force != "day"):
        raise invalid("notional orders are only allowed for market orders with day time_in_force")
    limit_price = _price(body, "limit_price", required=order_type in ("limit", "stop_limit"))
    stop_price = _price(body, "stop_price", required=order_type in ("stop", "stop_limit"))
    if limit_price is not None and order_type not in ("limit", "stop_limit"):
        raise invalid(f"limit_price is not allowed for {order_type} orders")
    if stop_price is not None and order_type not in ("stop", "stop_limit"):
        raise invalid(f"stop_price is not allowed for {order_type} orders")
    client_order_id = body.get("client_order_id")
    if client_order_id is not None and not isinstance(client_order_id, str):
        raise invalid("client_order_id must be a string")
    intent = body.get("position_intent")
    if intent is not None and intent not in _INTENTS:
        raise invalid(f"invalid position_intent {intent}")
    return {
        "symbol": symbol, "side": side, "type": order_type, "time_in_force": time_in_force,
        "qty": qty, "notional": notional, "limit_price": limit_price, "stop_price": stop_price,
        "extended_hours": bool(body.get("extended_hours", False)), "position_intent": intent,
        "client_order_id": client_order_id or None,
    }


def parse_replace(body: Any, old: EmulatedOrder) -> dict[str, Any]:
    """The fields a PATCH changes; `qty` must be an integer (the SDK sends an int)."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    changes: dict[str, Any] = {}
    if "qty" in body:
        qty = to_decimal("qty", body["qty"])
        assert qty is not None
        if qty != qty.to_integral_value() or qty <= 0:
            raise invalid("qty must be integer")
        if qty < old.filled_qty:
            raise invalid("qty must be more than the filled quantity")
        changes["qty"] = qty
    if "time_in_force" in body:
        changes["time_in_force"] = _choice(body, "time_in_force", TIMES_IN_FORCE)
    for name, kinds in (("limit_price", ("limit", "stop_limit")), ("stop_price", ("stop", "stop_limit"))):
        if name in body:
            if old.type not in kinds:
                raise invalid(f"{name} is not allowed for {old.type} orders")
            changes[name] = _price(body, name, required=True)
    if "trail" in body:
        raise invalid("trail is only for trailing_stop orders")
    if "client_order_id" in body:
        changes["client_order_id"] = body["client_order_id"]
    return changes


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name)
    if value not in allowed:
        raise invalid(f"invalid {name}: {value!r}" if value is not None else f"{name} is required")
    return value


def _price(body: dict[str, Any], name: str, required: bool) -> Decimal | None:
    price = to_decimal(name, body.get(name))
    if price is None:
        if required:
            raise invalid(f"{name} is required")
        return None
    if price <= 0:
        raise invalid(f"{name} must be > 0")
    if sub_penny(price):
        raise ApiError(
            422, f"invalid {name} {decimal_text(price)}. sub-penny increment does not fulfill minimum pricing criteria",
            UNPROCESSABLE,
        )
    return price
