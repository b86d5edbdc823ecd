"""What clients send, checked: a request becomes domain values, or an InvalidRequest that
names every bad field at once. Nothing here builds a reply; the wire forms are convert.py's.

Every function here is named for its direction (`*_from_proto`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from execution.v1 import execution_pb2 as pb
from execution_server.api.convert import ORDER_TYPES, SIDES, STATUSES, TIMES_IN_FORCE
from execution_server.domain.money import InvalidDecimal, beyond_precision, parse_decimal
from execution_server.domain.orders import LIMIT_PRICED, STOP_PRICED, OrderSpec, OrderStatus, OrderType

SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]{0,31}$")
IDENTIFIER = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
DEFAULT_UPDATES_PER_MESSAGE = 500
MAX_UPDATES_PER_MESSAGE = 10_000  # bounds the bytes a stalled batch stream holds


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
