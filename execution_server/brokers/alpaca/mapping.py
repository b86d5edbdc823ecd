"""Alpaca's words onto ours and ours onto alpaca-py's, as tables; and the three conversions the
adapter makes on every call: an Order into a request model, an order JSON into a BrokerOrder,
one trade_updates payload into a BrokerEvent.

Each table is written once, in the direction it is used; a reverse is derived from it (and the
derivation refuses a table that is not one to one), never written a second time. Tests walk
alpaca-py's own enums, so a value that a new SDK adds fails them until it is mapped here.

The JSON is alpaca-py's raw_data=True output: the wire's decimal strings, read here straight
into Decimal. alpaca-py's models would turn them into floats first (TradeUpdate.qty is a float).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.enums import OrderType as AlpacaType
from alpaca.trading.enums import TimeInForce as AlpacaTimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)

from execution_server.brokers.base import (
    BrokerEvent,
    BrokerOrder,
    BrokerRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
)
from execution_server.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


def reverse(table: Mapping[_Key, _Value]) -> dict[_Value, _Key]:
    """The table read the other way; a table with two keys on one value has no reverse."""
    flipped = {value: key for key, value in table.items()}
    if len(flipped) != len(table):
        raise ValueError(f"not one to one, no reverse: {table}")
    return flipped


# --- our order's fields onto alpaca-py's enums (orders we send); the reverse reads theirs ---

SIDES: Mapping[Side, AlpacaSide] = {Side.BUY: AlpacaSide.BUY, Side.SELL: AlpacaSide.SELL}
ORDER_TYPES: Mapping[OrderType, AlpacaType] = {
    OrderType.MARKET: AlpacaType.MARKET,
    OrderType.LIMIT: AlpacaType.LIMIT,
    OrderType.STOP: AlpacaType.STOP,
    OrderType.STOP_LIMIT: AlpacaType.STOP_LIMIT,
}
# opg and cls (auction-only orders) have no counterpart here: we never send them, and an order
# found at Alpaca with one cannot be described by a BrokerOrder (see UnmappedValue).
TIMES_IN_FORCE: Mapping[TimeInForce, AlpacaTimeInForce] = {
    TimeInForce.DAY: AlpacaTimeInForce.DAY,
    TimeInForce.GTC: AlpacaTimeInForce.GTC,
    TimeInForce.IOC: AlpacaTimeInForce.IOC,
    TimeInForce.FOK: AlpacaTimeInForce.FOK,
}
SIDES_FROM_ALPACA = reverse(SIDES)
ORDER_TYPES_FROM_ALPACA = reverse(ORDER_TYPES)  # trailing_stop: none of ours
TIMES_IN_FORCE_FROM_ALPACA = reverse(TIMES_IN_FORCE)

REQUEST_MODELS: Mapping[OrderType, type[OrderRequest]] = {
    OrderType.MARKET: MarketOrderRequest,
    OrderType.LIMIT: LimitOrderRequest,
    OrderType.STOP: StopOrderRequest,
    OrderType.STOP_LIMIT: StopLimitOrderRequest,
}


# --- Alpaca's order status onto ours (orders we read) ---

# OPEN is not a status of ours: it says "working at Alpaca", and the order's fill progress picks
# SUBMITTED, PARTIALLY_FILLED or FILLED (status_of). Alpaca's own word stays on the order as its
# broker_status, so nothing it said is lost by folding eighteen words onto six.
OPEN = "open"


@dataclass(frozen=True, slots=True)
class StatusRule:
    ours: OrderStatus | str  # an OrderStatus, or OPEN
    why: str


ORDER_STATUSES: Mapping[AlpacaStatus, StatusRule] = {
    # Received by Alpaca, whatever step of its intake: the order lives there (it has an id, it
    # can be found by client order id and cancelled), which is what SUBMITTED says. PENDING is
    # ours alone: recorded here, not yet answered by the broker.
    AlpacaStatus.PENDING_NEW: StatusRule(OPEN, "received by Alpaca, not yet accepted"),
    AlpacaStatus.ACCEPTED: StatusRule(OPEN, "received, not yet routed (market closed)"),
    AlpacaStatus.PENDING_REVIEW: StatusRule(OPEN, "under review at Alpaca"),
    AlpacaStatus.ACCEPTED_FOR_BIDDING: StatusRule(OPEN, "in auction bidding"),
    AlpacaStatus.NEW: StatusRule(OPEN, "routed, working"),
    AlpacaStatus.HELD: StatusRule(OPEN, "waiting on a trigger (a bracket's leg)"),
    AlpacaStatus.PARTIALLY_FILLED: StatusRule(OPEN, "working, part filled"),
    AlpacaStatus.STOPPED: StatusRule(OPEN, "a fill is guaranteed, not yet done: the fill event comes"),
    AlpacaStatus.SUSPENDED: StatusRule(OPEN, "not eligible for trading now; it may resume and can be cancelled"),
    # Asked, not done: Alpaca may still fill it (and rejects a cancel while a replace is pending).
    # The cancel's confirmation is the canceled status or event.
    AlpacaStatus.PENDING_CANCEL: StatusRule(OPEN, "our cancel is on its way; it may still fill"),
    AlpacaStatus.PENDING_REPLACE: StatusRule(OPEN, "a replace is on its way; it may still fill"),
    # Not final (ALPACA_API.md §4): done for today, and a GTC order may trade again tomorrow.
    # Closing it here would leave a live order unwatched and uncancellable from our side; so it
    # stays open on our books, its word kept, and its final status (filled, canceled, expired)
    # arrives later as its own event, or reconciliation reads it.
    AlpacaStatus.DONE_FOR_DAY: StatusRule(OPEN, "not final: done for today, may resume"),
    AlpacaStatus.CALCULATED: StatusRule(OPEN, "not final: done for the day, settlement pending"),
    AlpacaStatus.FILLED: StatusRule(OrderStatus.FILLED, "fully filled"),
    AlpacaStatus.CANCELED: StatusRule(OrderStatus.CANCELLED, "cancelled, by request or by its time in force"),
    # An expiry is a cancel by the time in force (DAY at the close): the port's OrderCancelled
    # covers it, with the reason saying which.
    AlpacaStatus.EXPIRED: StatusRule(OrderStatus.CANCELLED, "expired by its time in force"),
    AlpacaStatus.REJECTED: StatusRule(OrderStatus.REJECTED, "rejected by Alpaca"),
    # This service never replaces. Replaced behind its back, the order is over under this id (it
    # can neither fill nor be cancelled any more); its successor has another id and reaches our
    # books as an order unknown here, through reconciliation.
    AlpacaStatus.REPLACED: StatusRule(OrderStatus.CANCELLED, "replaced at Alpaca by another order"),
}


class UnmappedValue(ValueError):
    """A value Alpaca sent that no table here maps: an order this adapter cannot describe (a
    trailing stop, an opg order, a notional one) or a word newer than these tables."""


class MalformedPayload(ValueError):
    """JSON that is not what ALPACA_API.md says Alpaca sends: missing or unreadable fields."""


def status_of(broker_status: str, filled: Decimal, quantity: Decimal) -> OrderStatus:
    """Our status for Alpaca's word and the order's progress. An order is FILLED exactly when
    its whole quantity is (DESIGN.md), so a working order's progress decides among the open
    ones, and `filled` with quantity left is a contradiction, refused."""
    rule = ORDER_STATUSES.get(_enum(AlpacaStatus, broker_status, "order status"))  # type: ignore[arg-type]
    assert rule is not None  # the tests walk the enum
    if rule.ours == OPEN:
        if filled <= 0:
            return OrderStatus.SUBMITTED
        return OrderStatus.FILLED if filled >= quantity else OrderStatus.PARTIALLY_FILLED
    if rule.ours is OrderStatus.FILLED and filled != quantity:
        raise MalformedPayload(f"status filled with {filled} of {quantity} filled")
    assert isinstance(rule.ours, OrderStatus)
    return rule.ours


# --- trade_updates event types onto what the adapter reports ---


class Reaction(enum.Enum):
    ACCEPTED = "OrderAccepted"
    FILLED = "OrderFilled"
    CANCELLED = "OrderCancelled"
    REJECTED = "OrderRejected"
    IGNORED = "nothing"


@dataclass(frozen=True, slots=True)
class EventRule:
    reaction: Reaction
    why: str


# Keyed by the event's string: alpaca-py's TradeEvent lacks half of Alpaca's documented events
# (done_for_day, stopped, ...), and TradeUpdate delivers those as plain strings.
TRADE_EVENTS: Mapping[str, EventRule] = {
    # Proof that the order lives at Alpaca: settles a submission whose REST reply was lost.
    # Harmless when the reply came first (the OMS records a second acceptance as nothing).
    "pending_new": EventRule(Reaction.ACCEPTED, "received by Alpaca"),
    "accepted": EventRule(Reaction.ACCEPTED, "received, not yet routed"),
    "new": EventRule(Reaction.ACCEPTED, "routed"),
    "partial_fill": EventRule(Reaction.FILLED, "one execution: its own qty and price"),
    "fill": EventRule(Reaction.FILLED, "the last execution: its own qty and price"),
    "canceled": EventRule(Reaction.CANCELLED, "cancelled"),
    "expired": EventRule(Reaction.CANCELLED, "expired by its time in force"),
    "replaced": EventRule(Reaction.CANCELLED, "replaced at Alpaca, not by us: over under this id"),
    "rejected": EventRule(Reaction.REJECTED, "rejected"),
    "pending_cancel": EventRule(Reaction.IGNORED, "a cancel on its way changes nothing yet; canceled or a fill follows"),
    "pending_replace": EventRule(Reaction.IGNORED, "a replace on its way changes nothing yet; replaced or a fill follows"),
    "order_cancel_rejected": EventRule(
        Reaction.IGNORED, "the order is unchanged; the fill that beat the cancel comes as its own event"
    ),
    "order_replace_rejected": EventRule(Reaction.IGNORED, "the order is unchanged"),
    "done_for_day": EventRule(Reaction.IGNORED, "not final: the order stays open (see ORDER_STATUSES)"),
    "calculated": EventRule(Reaction.IGNORED, "not final: settlement pending; fills came as their own events"),
    "stopped": EventRule(Reaction.IGNORED, "a fill is guaranteed: the fill event carries it"),
    "suspended": EventRule(Reaction.IGNORED, "not eligible for trading now: still open, still cancellable"),
    # Alpaca corrected the order's fields after the fact; reconciliation compares and repairs.
    "restated": EventRule(Reaction.IGNORED, "fields corrected by Alpaca; reconciliation repairs what differs"),
}

# An order's reason, for the statuses whose word says more than our status does.
_REASONS: Mapping[str, str] = {
    "canceled": "cancelled at Alpaca",
    "expired": "expired at Alpaca (time in force)",
    "replaced": "replaced at Alpaca by another order",
    "rejected": "rejected by Alpaca",
}


# --- our order onto alpaca-py's request model ---

MAX_CLIENT_ORDER_ID = 128  # ALPACA_API.md §2.1: Alpaca refuses longer ones with a 422


def order_request_for(order: Order) -> OrderRequest:
    """The alpaca-py request for a new order, always under our client order id. Refuses, with
    BrokerRejected and before anything is sent, what Alpaca would refuse and alpaca-py does not
    check (ALPACA_API.md §7.9, §3.5), and what the wire could not carry exactly."""
    spec = order.spec
    problem = _refusal(order)
    if problem:
        raise BrokerRejected(f"{problem} (not sent to Alpaca)", broker_status="")
    prices: dict[str, Decimal] = {}
    if spec.order_type.needs_limit_price:
        prices["limit_price"] = spec.limit_price  # type: ignore[assignment]
    if spec.order_type.needs_stop_price:
        prices["stop_price"] = spec.stop_price  # type: ignore[assignment]
    # alpaca-py types qty and prices as float and sends them as JSON numbers (§2.1, §7.8).
    # Decimal → float → JSON is exact for every value _refusal lets through: json writes the
    # shortest text that reads back as the same float, which is the Decimal's own digits when
    # it has no more than 15 significant ones (exactness_problem checks that very text).
    return REQUEST_MODELS[spec.order_type](
        symbol=spec.symbol,
        qty=spec.quantity,
        side=SIDES[spec.side],
        time_in_force=TIMES_IN_FORCE[spec.time_in_force],
        client_order_id=spec.client_order_id,
        **prices,
    )


def _refusal(order: Order) -> str:
    spec = order.spec
    if not spec.client_order_id:
        return "no client order id: it is Alpaca's idempotency key, never sent without one"
    if len(spec.client_order_id) > MAX_CLIENT_ORDER_ID:
        return f"client order id longer than Alpaca's {MAX_CLIENT_ORDER_ID} characters"
    if spec.quantity <= 0:
        return f"quantity must be positive, got {spec.quantity}"
    fractional = spec.quantity != spec.quantity.to_integral_value()
    if fractional and (spec.order_type is not OrderType.MARKET or spec.time_in_force is not TimeInForce.DAY):
        return (
            f"fractional quantity {spec.quantity}: Alpaca takes fractional orders only as MARKET DAY, "
            f"not {spec.order_type.value} {spec.time_in_force.value}"
        )
    checks = [("qty", spec.quantity)]
    for name, price, needed in (
        ("limit_price", spec.limit_price, spec.order_type.needs_limit_price),
        ("stop_price", spec.stop_price, spec.order_type.needs_stop_price),
    ):
        if not needed:
            continue
        if price is None or price <= 0:
            return f"{spec.order_type.value} order needs a positive {name}, got {price}"
        problem = sub_penny_problem(name, price)
        if problem:
            return problem
        checks.append((name, price))
    for name, value in checks:
        problem = exactness_problem(name, value)
        if problem:
            return problem
    return ""


def sub_penny_problem(name: str, price: Decimal) -> str:
    """Alpaca's price increments (§3.5): cents from $1.00, hundredths of a cent below."""
    places = 2 if price >= 1 else 4
    if price != price.quantize(Decimal(1).scaleb(-places)):
        return (
            f"{name} {price} is finer than Alpaca's increment for it ({places} decimal places "
            f"{'at or above' if places == 2 else 'below'} $1.00; sub-penny prices are refused)"
        )
    return ""


def exactness_problem(name: str, value: Decimal) -> str:
    """What the wire would carry instead of `value`, when that differs: alpaca-py sends floats,
    written by json as repr(float)."""
    sent = repr(float(value))
    if Decimal(sent) != value:
        return f"{name} {value} cannot be sent exactly: alpaca-py sends it as the JSON number {sent}"
    return ""


# --- an order JSON (REST, or inside an event) onto a BrokerOrder ---


def broker_order_from(raw: Mapping[str, Any]) -> BrokerOrder:
    """One order as Alpaca's REST API (raw_data=True) or an event's `order` gives it. Alpaca
    lists no executions with an order: `fills` is empty, and the cumulative filled_qty and
    filled_avg_price stand for them (the OMS records what they add as one fill)."""
    broker_status = _text(raw, "status")
    quantity = _decimal(raw, "qty")
    if quantity is None:
        raise UnmappedValue(f"order {raw.get('id')} has no qty (a notional order): none of ours")
    filled = _decimal(raw, "filled_qty") or Decimal(0)
    order_type = raw.get("type") or raw.get("order_type")
    return BrokerOrder(
        broker_order_id=_text(raw, "id"),
        client_order_id=_text(raw, "client_order_id"),
        symbol=_text(raw, "symbol"),
        side=_ours(SIDES_FROM_ALPACA, AlpacaSide, raw.get("side"), "side"),
        order_type=_ours(ORDER_TYPES_FROM_ALPACA, AlpacaType, order_type, "order type"),
        time_in_force=_ours(TIMES_IN_FORCE_FROM_ALPACA, AlpacaTimeInForce, raw.get("time_in_force"), "time in force"),
        quantity=quantity,
        filled_quantity=filled,
        average_fill_price=_decimal(raw, "filled_avg_price"),
        status=status_of(broker_status, filled, quantity),
        broker_status=broker_status,
        limit_price=_decimal(raw, "limit_price"),
        stop_price=_decimal(raw, "stop_price"),
        reason=_reason(raw, broker_status),
    )


def _reason(raw: Mapping[str, Any], broker_status: str) -> str:
    reason = _REASONS.get(broker_status, "")
    if broker_status == "replaced" and raw.get("replaced_by"):
        reason = f"{reason} {raw['replaced_by']}"
    return reason


# --- one trade_updates payload onto a BrokerEvent ---


@dataclass(frozen=True, slots=True)
class Progress:
    """An event's cumulative figures, for the adapter's check that a fill advances them."""

    broker_order_id: str
    quantity: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal | None


def event_from(raw: Mapping[str, Any]) -> BrokerEvent | None:
    """The event for one trade_updates `data` payload (raw_data=True: the frame's "data"), or
    None for an event type TRADE_EVENTS deliberately ignores. A fill carries its own
    execution's qty and price, never the order's cumulative ones."""
    event = _text(raw, "event")
    rule = TRADE_EVENTS.get(event)
    if rule is None:
        raise UnmappedValue(f"trade_updates event {event!r} is in no table here")
    if rule.reaction is Reaction.IGNORED:
        return None
    order = raw.get("order")
    if not isinstance(order, Mapping):
        raise MalformedPayload(f"{event} event without an order object")
    broker_order_id, client_order_id = _text(order, "id"), _text(order, "client_order_id")
    broker_status = str(order.get("status") or event)
    time = _time(raw.get("timestamp") or order.get("updated_at"), "timestamp")
    if rule.reaction is Reaction.ACCEPTED:
        return OrderAccepted(broker_order_id, client_order_id, broker_status, time)
    if rule.reaction is Reaction.CANCELLED:
        return OrderCancelled(broker_order_id, client_order_id, _reason(order, event), broker_status, time)
    if rule.reaction is Reaction.REJECTED:
        return OrderRejected(broker_order_id, client_order_id, _REASONS["rejected"], broker_status, time)
    return _fill(raw, order, broker_order_id, client_order_id, broker_status, time)


def _fill(raw: Mapping[str, Any], order: Mapping[str, Any], broker_order_id: str, client_order_id: str,
          broker_status: str, time: datetime) -> OrderFilled:
    quantity, price = _decimal(raw, "qty"), _decimal(raw, "price")
    if quantity is None or quantity <= 0 or price is None or price <= 0:
        raise MalformedPayload(f"fill of order {broker_order_id} without a positive qty and price")
    cumulative = _decimal(order, "filled_qty")
    if cumulative is not None and quantity > cumulative:
        raise MalformedPayload(f"fill of {quantity} above the order's cumulative filled_qty {cumulative}")
    # Alpaca always sends one (§5.2). Were it missing, the id repair gives the same cumulative
    # figure (oms.broker_events) makes the execution count once, however it is learnt.
    execution_id = str(raw.get("execution_id") or f"{broker_order_id}:cumulative:{cumulative}")
    return OrderFilled(broker_order_id, client_order_id, execution_id, quantity, price, time, broker_status)


def progress_of(raw: Mapping[str, Any]) -> Progress:
    """The cumulative figures of the order inside a trade_updates payload."""
    order = raw.get("order")
    if not isinstance(order, Mapping):
        raise MalformedPayload("event without an order object")
    quantity = _decimal(order, "qty")
    if quantity is None:
        raise UnmappedValue(f"order {order.get('id')} has no qty (a notional order): none of ours")
    return Progress(
        broker_order_id=_text(order, "id"),
        quantity=quantity,
        filled_quantity=_decimal(order, "filled_qty") or Decimal(0),
        average_fill_price=_decimal(order, "filled_avg_price"),
    )


# --- reading JSON fields ---

_Enum = TypeVar("_Enum", bound=enum.Enum)


def _enum(kind: type[_Enum], value: Any, what: str) -> _Enum:
    try:
        return kind(value)
    except ValueError:
        raise UnmappedValue(f"Alpaca {what} {value!r} is not one alpaca-py knows") from None


def _ours(table: Mapping[Any, _Value], kind: type[enum.Enum], value: Any, what: str) -> _Value:
    theirs = _enum(kind, value, what)
    if theirs not in table:
        raise UnmappedValue(f"Alpaca {what} {value!r} has no counterpart here")
    return table[theirs]


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{key} missing or not a string: {value!r}")
    return value


def _decimal(raw: Mapping[str, Any], key: str) -> Decimal | None:
    """A decimal field, exactly: Alpaca sends strings. A JSON number (which Alpaca does not
    send) is read through its shortest text, the digits that were on the wire."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedPayload(f"{key} is not a number: {value!r}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise MalformedPayload(f"{key} is not a number: {value!r}") from None
    if not number.is_finite():
        raise MalformedPayload(f"{key} is not finite: {value!r}")
    return number


def _time(value: Any, key: str) -> datetime:
    """RFC 3339, with Z; nanoseconds are cut to microseconds (as alpaca-py does)."""
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} missing: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedPayload(f"{key} is not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise MalformedPayload(f"{key} has no offset: {value!r}")
    return parsed
