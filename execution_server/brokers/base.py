"""The port between the engine and a broker: one small interface, and the events it reports.

Nothing above this module knows which adapter it talks to (the simulated paper broker or
Alpaca). Foreign errors are translated by each adapter into the small tree below.

BrokerError
 ├── BrokerRejected            a definite refusal: the order never lived at the broker
 ├── BrokerUnavailable         the request certainly did not reach the broker (connection refused)
 ├── SubmissionOutcomeUnknown  the request may have reached it (timeout, dropped connection, 5xx)
 ├── CancelRefused             the broker will not cancel (already filled, unknown order)
 └── BrokerStreamDropped       the event stream broke; call events() again to re-establish it
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from execution_server.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce


class BrokerError(Exception):
    """Base of every error a broker adapter raises."""


class BrokerRejected(BrokerError):
    def __init__(self, reason: str, broker_status: str = "rejected") -> None:
        super().__init__(reason)
        self.reason = reason
        self.broker_status = broker_status


class BrokerUnavailable(BrokerError):
    """The broker could not be reached; nothing was sent."""


class SubmissionOutcomeUnknown(BrokerError):
    """The submission may or may not have reached the broker: settle it by client order id."""


class CancelRefused(BrokerError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BrokerStreamDropped(BrokerError):
    """The event stream ended unexpectedly. Events may have been lost: reconcile after reconnecting."""


@dataclass(frozen=True, slots=True)
class BrokerAck:
    broker_order_id: str
    broker_status: str


@dataclass(frozen=True, slots=True)
class BrokerFill:
    execution_id: str
    quantity: Decimal
    price: Decimal
    time: datetime


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker knows it, with our status mapped from the broker's own word."""

    broker_order_id: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    status: OrderStatus
    broker_status: str
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    # Every execution the broker has for this order, with its execution id, oldest first;
    # repair replays them, and the OMS ignores those it already has.
    fills: tuple[BrokerFill, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    symbol: str
    quantity: Decimal  # signed: negative when short
    average_entry_price: Decimal


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    cash: Decimal
    buying_power: Decimal
    equity: Decimal


# --- events, in the order an adapter may report them ---


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    broker_order_id: str
    client_order_id: str
    broker_status: str
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderFilled:
    broker_order_id: str
    client_order_id: str
    execution_id: str
    quantity: Decimal
    price: Decimal
    time: datetime
    broker_status: str = "partially_filled"


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """Confirmed cancel, including expiry (DAY at the close, IOC/FOK remainders)."""

    broker_order_id: str
    client_order_id: str
    reason: str
    broker_status: str
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderRejected:
    broker_order_id: str
    client_order_id: str
    reason: str
    broker_status: str
    time: datetime


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """The event stream is (re-)established; events while it was down may be lost."""

    time: datetime
    reconnect: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class StreamMarker:
    """Not an order event: the point in the stream where `request_marker()` was called. Every
    event the broker reported before that call comes before it on the same connection."""

    token: object


@dataclass(frozen=True, slots=True)
class StreamDisconnected:
    """The event stream is down; the adapter is reconnecting. Events until the next
    StreamConnected may be lost (it recovers what it can, and reconciliation follows)."""

    time: datetime


BrokerEvent = (
    OrderAccepted | OrderFilled | OrderCancelled | OrderRejected | StreamConnected | StreamDisconnected | StreamMarker
)


@runtime_checkable
class BrokerClient(Protocol):
    """What the engine needs of a broker. Every method may raise a BrokerError."""

    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, order: Order) -> BrokerAck:
        """Send a new order under order.client_order_id. Raises BrokerRejected on a definite
        refusal, SubmissionOutcomeUnknown when it may have arrived."""
        ...

    async def cancel(self, order: Order) -> None:
        """Request a cancel; the confirmation comes as an OrderCancelled event."""
        ...

    async def find_by_client_id(self, client_order_id: str) -> BrokerOrder | None: ...

    async def open_orders(self) -> list[BrokerOrder]: ...

    async def positions(self) -> list[BrokerPosition]: ...

    async def account(self) -> BrokerAccount: ...

    def events(self) -> AsyncIterator[BrokerEvent]:
        """The broker's order events. Starts with StreamConnected; raises BrokerStreamDropped
        when the stream breaks, after which the caller calls events() again."""
        ...

    def request_marker(self) -> object | None:
        """Put a StreamMarker on the event stream after everything reported so far, and return
        its token; None when the stream is down or the adapter cannot. Reconciliation reads the
        broker's state between two markers, so that it compares our books with the broker's at
        one cut, not with events still on their way."""
        ...

    async def prepare_price(self, symbol: str) -> None:
        """Fill reference_price(symbol) if the broker can (a market-data lookup); the OMS calls
        it, bounded in time, before risk checks the first order for a symbol with no price."""
        ...

    def reference_price(self, symbol: str) -> Decimal | None:
        """The latest known price of a symbol, from memory (never I/O): risk reads it on the
        order path. None when no price is known."""
        ...
