"""The order, its status and the state machine as one transition table. Pure: no I/O.

PENDING ──submit──▶ SUBMITTED ──fill──▶ FILLED
   │                   │  └─partial fill─▶ PARTIALLY_FILLED ──fill──▶ FILLED
   │ reject            ▼ reject                  │ cancel
   ▼                REJECTED                     ▼
REJECTED          CANCELLED ◀──cancel── PENDING, SUBMITTED, PARTIALLY_FILLED
                  CANCELLED ──late fill──▶ CANCELLED (an execution that raced the cancel)

Beside the status an order carries two flags, and FLAG_EFFECTS says what each event does to
them: in_flight (sent, no answer from the broker yet) and cancel_requested (our cancel is on its
way). Two events change only those: request_cancel, and acknowledge (the broker's answer for an
order that a fill already advanced). A status or a flag changes through a transition, nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from execution_server.domain.money import ZERO, weighted_average


class Side(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(enum.Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"

    @property
    def needs_limit_price(self) -> bool:
        return self in LIMIT_PRICED

    @property
    def needs_stop_price(self) -> bool:
        return self in STOP_PRICED


# The types that take each price. The order path tests membership here directly: a property
# read through the enum costs a call each time, several times per order.
LIMIT_PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
STOP_PRICED = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


class TimeInForce(enum.Enum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(enum.Enum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_open(self) -> bool:
        return self not in TERMINAL


TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


class OrderEvent(enum.Enum):
    SUBMIT = "submit"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCEL = "cancel"
    LATE_FILL = "late_fill"
    REQUEST_CANCEL = "request_cancel"
    ACKNOWLEDGE = "acknowledge"


PENDING, SUBMITTED, PARTIALLY_FILLED, FILLED, CANCELLED, REJECTED = (
    OrderStatus.PENDING,
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
)
SUBMIT, REJECT, PARTIAL_FILL, FILL, CANCEL, LATE_FILL, REQUEST_CANCEL, ACKNOWLEDGE = (
    OrderEvent.SUBMIT,
    OrderEvent.REJECT,
    OrderEvent.PARTIAL_FILL,
    OrderEvent.FILL,
    OrderEvent.CANCEL,
    OrderEvent.LATE_FILL,
    OrderEvent.REQUEST_CANCEL,
    OrderEvent.ACKNOWLEDGE,
)

# The whole state machine. A pair that is not here is an illegal transition.
# A fill may reach an order still PENDING: the broker's fill can overtake its own ack
# (or the ack was lost), and a fill is proof of acceptance.
TRANSITIONS: Mapping[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (PENDING, SUBMIT): SUBMITTED,
    (PENDING, REJECT): REJECTED,
    (PENDING, CANCEL): CANCELLED,
    (PENDING, PARTIAL_FILL): PARTIALLY_FILLED,
    (PENDING, FILL): FILLED,
    (SUBMITTED, REJECT): REJECTED,
    (SUBMITTED, PARTIAL_FILL): PARTIALLY_FILLED,
    (SUBMITTED, FILL): FILLED,
    (SUBMITTED, CANCEL): CANCELLED,
    (PARTIALLY_FILLED, PARTIAL_FILL): PARTIALLY_FILLED,
    (PARTIALLY_FILLED, FILL): FILLED,
    (PARTIALLY_FILLED, CANCEL): CANCELLED,
    # Recorded once, quantity and average follow it, the order stays CANCELLED.
    (CANCELLED, LATE_FILL): CANCELLED,
    (PENDING, REQUEST_CANCEL): PENDING,
    (SUBMITTED, REQUEST_CANCEL): SUBMITTED,
    (PARTIALLY_FILLED, REQUEST_CANCEL): PARTIALLY_FILLED,
    # The broker's acceptance (or its order id) reaching an order already past SUBMITTED.
    (SUBMITTED, ACKNOWLEDGE): SUBMITTED,
    (PARTIALLY_FILLED, ACKNOWLEDGE): PARTIALLY_FILLED,
    (FILLED, ACKNOWLEDGE): FILLED,
    (CANCELLED, ACKNOWLEDGE): CANCELLED,
}

# What each event does to the flags. Any answer from the broker ends "in flight".
FLAG_EFFECTS: Mapping[OrderEvent, Mapping[str, bool]] = {
    SUBMIT: {"in_flight": False},
    REJECT: {"in_flight": False},
    CANCEL: {"in_flight": False},
    PARTIAL_FILL: {"in_flight": False},
    FILL: {"in_flight": False},
    LATE_FILL: {"in_flight": False},
    ACKNOWLEDGE: {"in_flight": False},
    REQUEST_CANCEL: {"cancel_requested": True},
}
_GUARDED = frozenset({"status", "in_flight", "cancel_requested"})


class InvalidTransition(Exception):
    """An event that the table does not allow from the order's state."""

    def __init__(self, order_id: str, state: OrderStatus, event: OrderEvent) -> None:
        super().__init__(f"order {order_id}: cannot {event.value} an order in state {state.value}")
        self.order_id = order_id
        self.state = state
        self.event = event


class InvalidFill(Exception):
    """A fill that would break 0 ≤ filled_quantity ≤ quantity, or is not positive."""

    def __init__(self, order_id: str, reason: str) -> None:
        super().__init__(f"order {order_id}: {reason}")
        self.order_id = order_id
        self.reason = reason


def transition(order_id: str, state: OrderStatus, event: OrderEvent) -> OrderStatus:
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise InvalidTransition(order_id, state, event) from None


def allows(state: OrderStatus, event: OrderEvent) -> bool:
    return (state, event) in TRANSITIONS


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """What a client asks for: the fields that make two PlaceOrder calls the same order."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """One order as the service knows it. Immutable: every change makes a new value."""

    order_id: str
    spec: OrderSpec
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    filled_quantity: Decimal = ZERO
    average_fill_price: Decimal | None = None
    broker_order_id: str | None = None
    broker_status: str = ""
    reject_reason: str = ""
    cancel_reason: str = ""
    in_flight: bool = False
    cancel_requested: bool = False

    # Shortcuts to the spec, so that callers write order.symbol.
    @property
    def client_order_id(self) -> str:
        return self.spec.client_order_id

    @property
    def strategy_id(self) -> str:
        return self.spec.strategy_id

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def side(self) -> Side:
        return self.spec.side

    @property
    def quantity(self) -> Decimal:
        return self.spec.quantity

    @property
    def remaining_quantity(self) -> Decimal:
        return self.spec.quantity - self.filled_quantity

    def with_changes(self, **changes: object) -> Order:
        """A copy with other facts (times, broker ids); the status and the flags change only
        through the transitions below."""
        if _GUARDED.intersection(changes):
            raise TypeError(f"{sorted(_GUARDED.intersection(changes))} change only through a transition")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def _moved(self, event: OrderEvent, at: datetime, **changes: object) -> Order:
        """The one way a status or a flag changes: the table, then the event's flag effects."""
        status = transition(self.order_id, self.status, event)
        return dataclasses.replace(  # type: ignore[arg-type]
            self, status=status, updated_at=self.touched_at(at), **FLAG_EFFECTS[event], **changes
        )

    def touched_at(self, at: datetime) -> datetime:
        """The updated_at of a change made at `at`: never before the last one, whatever the
        clock (a wall clock stepped back, a time taken from a report about the past)."""
        return max(self.updated_at, at)

    # --- the transitions; each validates first and returns a new order ---

    def submitted(self, broker_order_id: str | None, broker_status: str, at: datetime) -> Order:
        return self._moved(SUBMIT, at, broker_order_id=broker_order_id, broker_status=broker_status)

    def acknowledged(self, broker_order_id: str | None, at: datetime) -> Order:
        """The broker's answer for an order already past PENDING: it learns its broker id."""
        return self._moved(ACKNOWLEDGE, at, broker_order_id=self.broker_order_id or broker_order_id)

    def rejected(self, reason: str, at: datetime, broker_status: str = "") -> Order:
        return self._moved(REJECT, at, reject_reason=reason, broker_status=broker_status or self.broker_status)

    def cancelled(self, reason: str, at: datetime, broker_status: str = "") -> Order:
        return self._moved(CANCEL, at, cancel_reason=reason, broker_status=broker_status or self.broker_status)

    def cancel_requested_at(self, at: datetime) -> Order:
        return self._moved(REQUEST_CANCEL, at)

    def filled(self, quantity: Decimal, price: Decimal, at: datetime, broker_status: str = "") -> Order:
        """Apply one execution, recorded at `at` (when the service learns of it; the broker's
        own time belongs to the Fill). After a confirmed cancel it is a late fill: recorded, and
        the order stays CANCELLED (an execution that raced the cancel at the broker)."""
        if quantity <= 0:
            raise InvalidFill(self.order_id, f"fill quantity must be positive, got {quantity}")
        if price <= 0:
            raise InvalidFill(self.order_id, f"fill price must be positive, got {price}")
        new_filled = self.filled_quantity + quantity
        if new_filled > self.quantity:
            raise InvalidFill(
                self.order_id,
                f"fill of {quantity} would bring filled quantity to {new_filled}, above {self.quantity}",
            )
        if self.status is CANCELLED:
            event = LATE_FILL
        else:
            event = FILL if new_filled == self.quantity else PARTIAL_FILL
        return self._moved(
            event,
            at,
            filled_quantity=new_filled,
            average_fill_price=weighted_average(self.filled_quantity, self.average_fill_price, quantity, price),
            broker_status=broker_status or self.broker_status,
        )
