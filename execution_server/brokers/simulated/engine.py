"""The pure matching engine of the simulated paper broker: commands in, facts out.

No asyncio, no I/O, no clock: every command takes its time as an argument, and the same
commands always produce the same facts (ids "sim-<lifetime>-<n>", executions
"sim-exec-<lifetime>-<n>", where the lifetime is the broker's, given at construction).

Rules a user of the paper broker can rely on:

* Every fill happens at the symbol's current price, which is the limit price or better
  for a limit order (a buy limit fills only when price <= limit, a sell only when >=).
* `available` caps what may fill at the current price, across all orders, oldest first;
  what a cap leaves open rests and fills on later prices (partial fills).
* Stops trigger when the price crosses them (buy: price >= stop, sell: price <= stop); a
  triggered STOP works as a market order, a triggered STOP_LIMIT as a limit order.
* IOC and FOK are judged once, when the order starts working: IOC fills what it can then
  and cancels the rest; FOK fills whole then or is cancelled whole. An IOC/FOK stop whose
  stop is not already crossed can fill nothing at once, so it is cancelled.
* DAY and GTC orders rest; `close_session` expires the open DAY orders.
* Commands apply one at a time. A cancel takes the quantity still open when it applies:
  executions before it stand (a fully filled order refuses the cancel), none comes after.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from execution_server.brokers.base import BrokerRejected, CancelRefused
from execution_server.brokers.simulated.facts import (
    CANCELED,
    EXPIRED,
    Accepted,
    Activated,
    Closed,
    Fact,
    Filled,
    PositionSet,
    PriceSet,
    Triggered,
)
from execution_server.brokers.simulated.ledger import Ledger
from execution_server.brokers.simulated.order import SimOrder
from execution_server.domain.money import ZERO
from execution_server.domain.orders import LIMIT_PRICED, STOP_PRICED, OrderSpec, OrderType, Side, TimeInForce

SESSION_CLOSE_REASON = "expired at session close"
_ONCE = (TimeInForce.IOC, TimeInForce.FOK)


class UnknownAtBroker(CancelRefused):
    """The broker has no order of that id (a cancel of one it has, but closed, is a plain
    CancelRefused)."""


class MatchingEngine:
    """Decides what each command does and records it in the ledger as facts."""

    def __init__(
        self,
        starting_cash: Decimal = Decimal("1000000"),
        reference_prices: Mapping[str, Decimal] | None = None,
        default_price: Decimal = Decimal("100"),
        lifetime: str = "",
    ) -> None:
        self.ledger = Ledger(starting_cash, reference_prices or {}, default_price)
        # Goes into every id this engine hands out (facts.order_id_for); replayed facts keep
        # the lifetime they were recorded with. Empty: the plain "sim-<n>" of a pure test.
        self.lifetime = lifetime

    def replay(self, facts: list[Fact]) -> None:
        for fact in facts:
            self.ledger.apply(fact)

    # --- orders ---

    def submit(self, spec: OrderSpec, at: datetime) -> list[Fact]:
        """Accept and start working at once: the broker without an ack delay."""
        accepted = self.accept(spec, at)
        return [accepted, *self.activate(accepted.order_id, at)]

    def accept(self, spec: OrderSpec, at: datetime) -> Accepted:
        """Take the order (or raise BrokerRejected); it matches only once activated."""
        refusal = refusal_of(spec)
        if refusal is None and spec.client_order_id in self.ledger.by_client_id:
            refusal = f"duplicate client_order_id {spec.client_order_id!r}"
        if refusal is not None:
            raise BrokerRejected(refusal)
        fact = Accepted(
            self.ledger.next_order_seq, spec.client_order_id, spec.symbol, spec.side, spec.order_type,
            spec.time_in_force, spec.quantity, spec.limit_price, spec.stop_price, at, self.lifetime,
        )  # fmt: skip
        self.ledger.apply(fact)
        return fact

    def activate(self, order_id: str, at: datetime) -> list[Fact]:
        """Start working an accepted order against the current price."""
        ledger = self.ledger
        order = ledger.orders.get(order_id)
        if order is None or order.active:
            raise ValueError(f"order {order_id} is not waiting to be activated")
        facts: list[Fact] = [ledger.apply(Activated(order_id, at))]
        if not order.is_open:  # cancelled during its ack delay
            return facts
        price = ledger.price(order.symbol)
        if order.waits_for_stop:
            if _stop_crossed(order, price):
                facts.append(ledger.apply(Triggered(order_id, at)))
            elif order.time_in_force in _ONCE:
                return facts + [self._close(order, f"{order.time_in_force.value}: stop not crossed at once", at)]
            else:
                return facts
        self._match_new(order, price, at, facts)
        return facts

    def _match_new(self, order: SimOrder, price: Decimal, at: datetime, facts: list[Fact]) -> None:
        fillable = self._fillable(order, price)
        tif = order.time_in_force
        if tif is TimeInForce.FOK and fillable < order.remaining:
            facts.append(self._close(order, "FOK: the whole quantity could not fill at once", at))
            return
        if fillable > 0:
            facts.append(self._fill(order, fillable, price, at))
        if tif is TimeInForce.IOC and order.is_open:
            facts.append(self._close(order, "IOC: unfilled remainder cancelled", at))

    def cancel(self, order_id: str, reason: str, at: datetime, *, silent: bool = False) -> list[Fact]:
        """Cancel what is still open, or raise CancelRefused (unknown or already closed)."""
        order = self.ledger.orders.get(order_id)
        if order is None:
            raise UnknownAtBroker(f"unknown order {order_id}")
        if not order.is_open:
            raise CancelRefused(f"order {order_id} is already {order.broker_status}")
        return [self.ledger.apply(Closed(order_id, reason, CANCELED, at, silent))]

    def close_session(self, at: datetime) -> list[Closed]:
        """Expire every open DAY order, oldest first."""
        day = [o for o in self.ledger.open.values() if o.time_in_force is TimeInForce.DAY]
        expired = [Closed(o.order_id, SESSION_CLOSE_REASON, EXPIRED, at) for o in day]
        for fact in expired:
            self.ledger.apply(fact)
        return expired

    # --- market ---

    def set_price(self, symbol: str, price: Decimal, available: Decimal | None, at: datetime) -> list[Fact]:
        """Move the symbol to `price`: trigger the stops it crosses, then fill what may fill
        at it, oldest order first, within `available` (None: no cap)."""
        _require_decimal("price", price, positive=True)
        if available is not None:
            _require_decimal("available quantity", available, positive=False)
        ledger = self.ledger
        facts: list[Fact] = [ledger.apply(PriceSet(symbol, price, available, at))]
        book = ledger.books.get(symbol)
        if book is None:
            return facts
        for seq in book.crossed_stops(price):
            facts.append(ledger.apply(Triggered(ledger.by_seq[seq].order_id, at)))
        for seq in book.marketable(price):
            order = ledger.by_seq[seq]
            fillable = self._fillable(order, price)
            if fillable == 0:
                break  # the cap is used up: nothing younger may fill either
            facts.append(self._fill(order, fillable, price, at))
        return facts

    def set_position(self, symbol: str, quantity: Decimal, average_entry_price: Decimal | None) -> list[Fact]:
        """Overwrite the broker's position, as a trade outside the service would."""
        _require_decimal("quantity", quantity, positive=False, signed=True)
        if quantity != 0:
            _require_decimal("average entry price", average_entry_price, positive=True)
        average = average_entry_price if quantity != 0 else None
        return [self.ledger.apply(PositionSet(symbol, quantity, average))]

    # --- helpers ---

    def _fillable(self, order: SimOrder, price: Decimal) -> Decimal:
        if not order.works_as_market and not _limit_allows(order, price):
            return ZERO
        available = self.ledger.available_at_price(order.symbol)
        remaining = order.remaining
        return remaining if available is None or available >= remaining else available

    def _fill(self, order: SimOrder, quantity: Decimal, price: Decimal, at: datetime) -> Fact:
        cumulative = order.filled_quantity + quantity
        return self.ledger.apply(
            Filled(order.order_id, self.ledger.next_execution_seq, quantity, price, cumulative, at, self.lifetime)
        )

    def _close(self, order: SimOrder, reason: str, at: datetime) -> Fact:
        return self.ledger.apply(Closed(order.order_id, reason, CANCELED, at))


def refusal_of(spec: OrderSpec) -> str | None:
    """Why a broker would refuse this order outright, or None."""
    if not isinstance(spec.client_order_id, str) or not spec.client_order_id:
        return "client_order_id is required"
    if not isinstance(spec.symbol, str) or not spec.symbol:
        return "symbol is required"
    if not isinstance(spec.side, Side):
        return f"unknown side {spec.side!r}"
    if not isinstance(spec.order_type, OrderType):
        return f"unknown order type {spec.order_type!r}"
    if not isinstance(spec.time_in_force, TimeInForce):
        return f"unknown time in force {spec.time_in_force!r}"
    if not _is_decimal(spec.quantity) or spec.quantity <= 0:
        return f"quantity must be a positive decimal, got {spec.quantity!r}"
    order_type = spec.order_type
    for name, needed, value in (
        ("limit price", order_type in LIMIT_PRICED, spec.limit_price),
        ("stop price", order_type in STOP_PRICED, spec.stop_price),
    ):
        if needed and value is None:
            return f"{name} is required for a {spec.order_type.value} order"
        if value is not None and (not _is_decimal(value) or value <= 0):
            return f"{name} must be a positive decimal, got {value!r}"
    return None


def _limit_allows(order: SimOrder, price: Decimal) -> bool:
    limit = order.limit_price
    return price <= limit if order.side is Side.BUY else price >= limit  # type: ignore[operator]


def _stop_crossed(order: SimOrder, price: Decimal) -> bool:
    stop = order.stop_price
    return price >= stop if order.side is Side.BUY else price <= stop  # type: ignore[operator]


def _is_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _require_decimal(name: str, value: object, *, positive: bool, signed: bool = False) -> None:
    if not _is_decimal(value):
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    if positive and value <= 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be positive, got {value}")
    if not positive and not signed and value < 0:  # type: ignore[operator]
        raise ValueError(f"{name} must not be negative, got {value}")
