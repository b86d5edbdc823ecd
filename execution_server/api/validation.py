"""What clients send, checked: a request becomes domain values, or an InvalidRequest that
names every bad field at once. Nothing here builds a reply; the wire forms are convert.py's.

One validation layer, at the edge. First `check_syntax`, run by api/edge.py on every request of
every RPC before its servicer sees it (so before anything touches the database), checks every
string and enum field from the message's descriptor against the syntax of its kind, declared
in FIELD_KINDS (a string field not listed there is free text):

  identifier  strategy_id, client_order_id, broker_order_id: 1 to 128 printable ASCII
              characters (0x21 to 0x7E): no space, no control character, no trailing newline
  symbol      1 to 32 characters: an ASCII letter or digit, then letters, digits, ".", "-", "/";
              lower case is read as upper case ("brk.b" is BRK.B)
  order_id    the server's own format: a UUID in lower-case hex, 36 characters
  decimal     plain decimal syntax (domain.money.parse_decimal): ASCII digits, at most one
              point, a leading "-" only where a field is signed; no exponent, underscore, space,
              NaN or infinity; at most 64 characters; precision 24 integer + 12 fraction digits
  text        free text (a kill switch's reason): at most 256 printable characters (Unicode
              letters, marks, digits, punctuation, symbols and the space; no control, format,
              private-use or line-separator character)
  page_token  at most 128 URL-safe base64 characters (oms.page_tokens checks the rest: version,
              signature, filters)
  enum        a number the enum declares (repeated ones too)

Empty is "not set" for every kind; whether a field is required, and the checks that need more
than one field or a value's meaning (positive, a price for a LIMIT order, page sizes), are the
`*_from_proto` functions', which each servicer calls. Bytes that are not a message at all
(truncated, bad UTF-8 in a string) are refused before this, by api/edge.py. Error messages
quote a value only through domain.quoting.excerpt.

Every function here is named for its direction (`*_from_proto`), but check_syntax.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from execution.v1 import execution_pb2 as pb
from execution_server.api.convert import ORDER_TYPES, SIDES, STATUSES, TIMES_IN_FORCE
from execution_server.domain.identifiers import IDENTIFIER, SYMBOL
from execution_server.domain.money import InvalidDecimal, beyond_precision, parse_decimal
from execution_server.domain.orders import LIMIT_PRICED, STOP_PRICED, OrderSpec, OrderStatus, OrderType
from execution_server.domain.quoting import excerpt

ORDER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
PAGE_TOKEN = re.compile(r"[A-Za-z0-9_\-.]{1,128}", re.ASCII)
MAX_TEXT = 256
DEFAULT_UPDATES_PER_MESSAGE = 500
MAX_UPDATES_PER_MESSAGE = 10_000  # bounds the bytes a stalled batch stream holds


class FieldKind(enum.Enum):
    IDENTIFIER = "identifier"
    SYMBOL = "symbol"
    ORDER_ID = "order_id"
    DECIMAL = "decimal"
    TEXT = "text"
    PAGE_TOKEN = "page_token"


_V1 = "execution.v1."
FIELD_KINDS: dict[str, FieldKind] = {
    f"{_V1}PlaceOrderRequest.client_order_id": FieldKind.IDENTIFIER,
    f"{_V1}PlaceOrderRequest.strategy_id": FieldKind.IDENTIFIER,
    f"{_V1}PlaceOrderRequest.symbol": FieldKind.SYMBOL,
    f"{_V1}PlaceOrderRequest.quantity": FieldKind.DECIMAL,
    f"{_V1}PlaceOrderRequest.limit_price": FieldKind.DECIMAL,
    f"{_V1}PlaceOrderRequest.stop_price": FieldKind.DECIMAL,
    f"{_V1}CancelOrderRequest.order_id": FieldKind.ORDER_ID,
    f"{_V1}CancelOrderRequest.client_order_id": FieldKind.IDENTIFIER,
    f"{_V1}GetOrderRequest.order_id": FieldKind.ORDER_ID,
    f"{_V1}GetOrderRequest.client_order_id": FieldKind.IDENTIFIER,
    f"{_V1}ListOrdersRequest.strategy_id": FieldKind.IDENTIFIER,
    f"{_V1}ListOrdersRequest.symbol": FieldKind.SYMBOL,
    f"{_V1}ListOrdersRequest.page_token": FieldKind.PAGE_TOKEN,
    f"{_V1}StreamOrderUpdatesRequest.strategy_id": FieldKind.IDENTIFIER,
    f"{_V1}StreamOrderUpdatesRequest.symbol": FieldKind.SYMBOL,
    f"{_V1}StreamOrderUpdateBatchesRequest.strategy_id": FieldKind.IDENTIFIER,
    f"{_V1}StreamOrderUpdateBatchesRequest.symbol": FieldKind.SYMBOL,
    f"{_V1}GetPositionsRequest.strategy_id": FieldKind.IDENTIFIER,
    f"{_V1}SetKillSwitchRequest.reason": FieldKind.TEXT,
    f"{_V1}GetRiskLimitsRequest.strategy_id": FieldKind.IDENTIFIER,
    f"{_V1}SetPriceRequest.symbol": FieldKind.SYMBOL,
    f"{_V1}SetPriceRequest.price": FieldKind.DECIMAL,
    f"{_V1}SetPriceRequest.available_quantity": FieldKind.DECIMAL,
    f"{_V1}SetBrokerPositionRequest.symbol": FieldKind.SYMBOL,
    f"{_V1}SetBrokerPositionRequest.quantity": FieldKind.DECIMAL,
    f"{_V1}SetBrokerPositionRequest.average_entry_price": FieldKind.DECIMAL,
    f"{_V1}CancelAtBrokerRequest.broker_order_id": FieldKind.IDENTIFIER,
}


def _identifier(text: str) -> str:
    return "" if IDENTIFIER.fullmatch(text) else "expected 1 to 128 printable ASCII characters without spaces"


def _symbol(text: str) -> str:
    return "" if SYMBOL.fullmatch(text) else "expected a ticker such as AAPL or BRK.B"


def _order_id(text: str) -> str:
    return "" if ORDER_ID.fullmatch(text) else "expected an order id as this service assigns them (a lower-case UUID)"


def _decimal_syntax(text: str) -> str:
    try:
        parse_decimal(text, signed=True)
    except InvalidDecimal as error:
        return str(error)
    return ""


def _text(text: str) -> str:
    if len(text) > MAX_TEXT:
        return f"at most {MAX_TEXT} characters, got {len(text)}"
    return "" if text.isprintable() else "expected printable characters (no control or format character)"


def _page_token(text: str) -> str:
    return "" if PAGE_TOKEN.fullmatch(text) else "not a token this service issued; start the listing again without one"


SYNTAX: dict[FieldKind, Callable[[str], str]] = {
    FieldKind.IDENTIFIER: _identifier,
    FieldKind.SYMBOL: _symbol,
    FieldKind.ORDER_ID: _order_id,
    FieldKind.DECIMAL: _decimal_syntax,
    FieldKind.TEXT: _text,
    FieldKind.PAGE_TOKEN: _page_token,
}


def check_syntax(message: Message) -> None:
    """Refuse a request with any string or enum field outside its kind's syntax, naming each."""
    problems = _Violations()
    for name, repeated, check in _plan(message.DESCRIPTOR):
        values = getattr(message, name)
        for index, value in enumerate(values if repeated else (values,)):
            problem = check(value) if value != "" else ""  # an empty string is a field not set
            if problem:
                problems.add(f"{name}[{index}]" if repeated else name, problem)
    problems.raise_if_any()


@functools.cache
def _plan(descriptor: Descriptor) -> tuple[tuple[str, bool, Callable[[object], str]], ...]:
    """The checks of one message type, read once from its descriptor: (field, repeated, check)."""
    plan = []
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_STRING:
            plan.append((field.name, field.is_repeated, SYNTAX[FIELD_KINDS.get(field.full_name, FieldKind.TEXT)]))
        elif field.type == FieldDescriptor.TYPE_ENUM:
            plan.append((field.name, field.is_repeated, _enum_check(field)))
    return tuple(plan)  # type: ignore[arg-type]


def _enum_check(field: FieldDescriptor) -> Callable[[object], str]:
    known = frozenset(field.enum_type.values_by_number)
    name = field.enum_type.name

    def check(value: object) -> str:
        return "" if value in known else f"not a {name}: {value}"

    return check


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
    """Validate a PlaceOrderRequest completely, reporting every bad field at once. The syntax of
    each field is check_syntax's, already run at the edge: here what is required and what the
    values mean."""
    problems = _Violations()
    client_order_id = request.client_order_id  # empty: the OMS assigns one
    if not request.strategy_id:
        problems.add("strategy_id", "required: 1 to 128 printable ASCII characters without spaces")
    symbol = request.symbol.upper()
    if not symbol:
        problems.add("symbol", "required: a ticker such as AAPL or BRK.B")
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
        value = parse_decimal(text, signed=True)  # a sign is read, to say "must be positive"
    except InvalidDecimal as error:
        problems.add(field, f"expected a decimal string: {error}")
        return None
    if value <= 0:
        problems.add(field, f"must be positive, got {excerpt(text)}")
        return None
    problem = out_of_bounds(value, text)
    if problem:
        problems.add(field, problem)
        return None
    return value


def out_of_bounds(value: Decimal, text: str) -> str:
    """Why a quantity or price is beyond the declared precision (domain.money), or ""."""
    problem = beyond_precision(value)
    return f"{problem}, got {excerpt(text)}" if problem else ""


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
