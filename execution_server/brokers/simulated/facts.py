"""The facts the simulated broker records: every change of its state is one of these.

The engine decides (validates a command, matches prices) and expresses the outcome as
facts; the ledger applies them. Live operation and journal replay go through the same
`Ledger.apply`, so a restarted broker is the broker that stopped. The last two kinds are a
compacted snapshot: applied to an empty ledger they rebuild the whole state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from execution_server.brokers.base import BrokerFill
from execution_server.domain.orders import OrderType, Side, TimeInForce

# Alpaca's words for the states of an order at this broker.
NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED = "new", "partially_filled", "filled", "canceled", "expired"


def order_id_for(seq: int, lifetime: str = "") -> str:
    """`sim-<lifetime>-<seq>`. The lifetime is drawn afresh each time the broker starts, so a
    broker that lost its journal (the service's database did not) never repeats an id it handed
    out before; its sequence alone would restart at 1. Empty for facts journaled before ids had
    one: those orders keep their `sim-<seq>`."""
    return f"sim-{lifetime}-{seq}" if lifetime else f"sim-{seq}"


def execution_id_for(seq: int, lifetime: str = "") -> str:
    """`sim-exec-<lifetime>-<seq>`, unique across lifetimes for the same reason."""
    return f"sim-exec-{lifetime}-{seq}" if lifetime else f"sim-exec-{seq}"


@dataclass(frozen=True, slots=True)
class Accepted:
    """The broker took the order: from here on it exists at the broker, even before its ack."""

    seq: int
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    at: datetime
    lifetime: str = ""  # of the broker that accepted it; part of the order's id

    @property
    def order_id(self) -> str:
        return order_id_for(self.seq, self.lifetime)


@dataclass(frozen=True, slots=True)
class Activated:
    """The order starts working (after the simulated ack delay): it may match from now on."""

    order_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Triggered:
    """A stop was crossed: a STOP now works as a market order, a STOP_LIMIT as a limit order."""

    order_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Filled:
    """One execution. cumulative_quantity is the order's filled quantity after it (FIX CumQty)."""

    order_id: str
    execution_seq: int
    quantity: Decimal
    price: Decimal
    cumulative_quantity: Decimal
    at: datetime
    lifetime: str = ""  # of the broker that executed it; part of the execution id

    @property
    def execution_id(self) -> str:
        return execution_id_for(self.execution_seq, self.lifetime)


@dataclass(frozen=True, slots=True)
class Closed:
    """The order's open quantity is gone: cancelled on request, IOC/FOK remainder, or expired.

    silent: it happened at the broker but no event was sent (the cancel_behind_back hook).
    """

    order_id: str
    reason: str
    broker_status: str
    at: datetime
    silent: bool = False


@dataclass(frozen=True, slots=True)
class PriceSet:
    """The symbol trades at `price`; `available` caps what may still fill at it (None: no cap)."""

    symbol: str
    price: Decimal
    available: Decimal | None
    at: datetime


@dataclass(frozen=True, slots=True)
class PositionSet:
    """The broker's position was changed outside the order flow (a test hook)."""

    symbol: str
    quantity: Decimal
    average_entry_price: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountRestored:
    """Snapshot of everything but the orders. Applying it replaces the account state."""

    cash: Decimal
    next_order_seq: int
    next_execution_seq: int
    prices: tuple[PriceSet, ...]
    positions: tuple[PositionSet, ...]


@dataclass(frozen=True, slots=True)
class OrderRestored:
    """Snapshot of one order (open or closed), with every execution it had."""

    seq: int
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    accepted_at: datetime
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    broker_status: str
    reason: str
    active: bool
    triggered: bool
    fills: tuple[BrokerFill, ...]
    lifetime: str = ""  # of the broker that accepted it (see Accepted)

    @property
    def order_id(self) -> str:
        return order_id_for(self.seq, self.lifetime)


Fact = Accepted | Activated | Triggered | Filled | Closed | PriceSet | PositionSet | AccountRestored | OrderRestored
