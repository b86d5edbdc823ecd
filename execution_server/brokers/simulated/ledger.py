"""The simulated broker's state, and the one place that changes it: `Ledger.apply(fact)`.

Pure: no asyncio, no I/O, no clock. Applying the same facts to an empty ledger always
yields the same state, which is what makes the journal a faithful copy of the broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from execution_server.brokers.base import BrokerFill
from execution_server.brokers.simulated.book import SymbolBook
from execution_server.brokers.simulated.facts import (
    FILLED,
    PARTIALLY_FILLED,
    AccountRestored,
    Accepted,
    Activated,
    Closed,
    Fact,
    Filled,
    OrderRestored,
    PositionSet,
    PriceSet,
    Triggered,
)
from execution_server.brokers.simulated.order import SimOrder
from execution_server.domain.money import ZERO, weighted_average
from execution_server.domain.orders import Side


class CorruptState(Exception):
    """A fact that cannot apply to the state (a damaged or foreign journal)."""


class Ledger:
    """Orders, books, prices, positions and cash of the simulated account."""

    def __init__(self, starting_cash: Decimal, reference_prices: Mapping[str, Decimal], default_price: Decimal) -> None:
        self.cash = starting_cash
        self.reference_prices = dict(reference_prices)
        self.default_price = default_price
        self.next_order_seq = 1
        self.next_execution_seq = 1
        self.orders: dict[str, SimOrder] = {}
        self.by_seq: dict[int, SimOrder] = {}
        self.by_client_id: dict[str, SimOrder] = {}
        self.open: dict[str, SimOrder] = {}  # insertion order is arrival order
        self.books: dict[str, SymbolBook] = {}
        self.prices: dict[str, PriceSet] = {}
        self.available: dict[str, Decimal | None] = {}
        self.positions: dict[str, tuple[Decimal, Decimal | None]] = {}

    # --- reads ---

    def price(self, symbol: str) -> Decimal:
        """The last price set, else the reference price, else the default: never unknown."""
        current = self.prices.get(symbol)
        if current is not None:
            return current.price
        return self.reference_prices.get(symbol, self.default_price)

    def available_at_price(self, symbol: str) -> Decimal | None:
        return self.available.get(symbol)

    def book(self, symbol: str) -> SymbolBook:
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = SymbolBook()
        return book

    def snapshot(self) -> tuple[AccountRestored, tuple[OrderRestored, ...]]:
        """The whole state as facts: applied to an empty ledger they rebuild it exactly."""
        account = AccountRestored(
            cash=self.cash,
            next_order_seq=self.next_order_seq,
            next_execution_seq=self.next_execution_seq,
            prices=tuple(
                PriceSet(symbol, fact.price, self.available.get(symbol), fact.at)
                for symbol, fact in sorted(self.prices.items())
            ),
            positions=tuple(PositionSet(s, q, avg) for s, (q, avg) in sorted(self.positions.items())),
        )
        return account, tuple(self.by_seq[seq].snapshot() for seq in sorted(self.by_seq))

    # --- the one way in ---

    def apply(self, fact: Fact) -> Fact:
        handler = _HANDLERS.get(type(fact))
        if handler is None:
            raise CorruptState(f"unknown fact {fact!r}")
        handler(self, fact)
        return fact

    def _order(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise CorruptState(f"fact for unknown order {order_id}")
        return order

    def _accepted(self, fact: Accepted) -> None:
        order = SimOrder(
            fact.seq, fact.client_order_id, fact.symbol, fact.side, fact.order_type, fact.time_in_force,
            fact.quantity, fact.limit_price, fact.stop_price, fact.at, lifetime=fact.lifetime,
        )  # fmt: skip
        self._insert(order)

    def _insert(self, order: SimOrder) -> None:
        if order.order_id in self.orders or order.client_order_id in self.by_client_id:
            raise CorruptState(f"order {order.order_id} / {order.client_order_id} recorded twice")
        self.orders[order.order_id] = order
        self.by_seq[order.seq] = order
        self.by_client_id[order.client_order_id] = order
        self.next_order_seq = max(self.next_order_seq, order.seq + 1)
        if order.is_open:
            self.open[order.order_id] = order
            if order.active:
                self.book(order.symbol).place(order)

    def _activated(self, fact: Activated) -> None:
        order = self._order(fact.order_id)
        order.active = True
        if order.is_open:
            self.book(order.symbol).place(order)

    def _triggered(self, fact: Triggered) -> None:
        order = self._order(fact.order_id)
        if not (order.is_open and order.waits_for_stop):
            raise CorruptState(f"trigger of {order.order_id}, which does not wait for a stop")
        order.triggered = True
        if order.active:
            self.book(order.symbol).place(order)

    def _filled(self, fact: Filled) -> None:
        order = self._order(fact.order_id)
        cumulative = order.filled_quantity + fact.quantity
        if not order.is_open or cumulative != fact.cumulative_quantity or cumulative > order.quantity:
            raise CorruptState(f"fill {fact.execution_id} does not fit order {order.order_id}")
        order.average_fill_price = weighted_average(order.filled_quantity, order.average_fill_price, fact.quantity, fact.price)
        order.filled_quantity = cumulative
        order.fills.append(BrokerFill(fact.execution_id, fact.quantity, fact.price, fact.at))
        if cumulative == order.quantity:
            order.broker_status = FILLED
            self._take_off(order)
        else:
            order.broker_status = PARTIALLY_FILLED
        signed = fact.quantity if order.side is Side.BUY else -fact.quantity
        self.cash -= signed * fact.price
        self._move_position(order.symbol, signed, fact.price)
        left = self.available.get(order.symbol)
        if left is not None:
            self.available[order.symbol] = max(ZERO, left - fact.quantity)
        self.next_execution_seq = max(self.next_execution_seq, fact.execution_seq + 1)

    def _closed(self, fact: Closed) -> None:
        order = self._order(fact.order_id)
        if not order.is_open:
            raise CorruptState(f"close of {order.order_id}, already {order.broker_status}")
        order.broker_status = fact.broker_status
        order.reason = fact.reason
        self._take_off(order)

    def _take_off(self, order: SimOrder) -> None:
        self.open.pop(order.order_id, None)
        book = self.books.get(order.symbol)
        if book is not None:
            book.remove(order)

    def _price_set(self, fact: PriceSet) -> None:
        self.prices[fact.symbol] = fact
        self.available[fact.symbol] = fact.available

    def _position_set(self, fact: PositionSet) -> None:
        if fact.quantity == 0:
            self.positions.pop(fact.symbol, None)
        else:
            self.positions[fact.symbol] = (fact.quantity, fact.average_entry_price)

    def _move_position(self, symbol: str, signed: Decimal, price: Decimal) -> None:
        quantity, average = self.positions.get(symbol, (ZERO, None))
        new_quantity, new_average = moved_position(quantity, average, signed, price)
        if new_quantity == 0:
            self.positions.pop(symbol, None)
        else:
            self.positions[symbol] = (new_quantity, new_average)

    def _account_restored(self, fact: AccountRestored) -> None:
        if self.orders:
            raise CorruptState("an account snapshot after orders were recorded")
        self.cash = fact.cash
        self.next_order_seq = fact.next_order_seq
        self.next_execution_seq = fact.next_execution_seq
        self.prices = {}
        self.available = {}
        for price in fact.prices:
            self._price_set(price)
        self.positions = {}
        for position in fact.positions:
            self._position_set(position)

    def _order_restored(self, fact: OrderRestored) -> None:
        self._insert(SimOrder.from_snapshot(fact))


def moved_position(
    quantity: Decimal, average: Decimal | None, signed: Decimal, price: Decimal
) -> tuple[Decimal, Decimal | None]:
    """A signed position after a signed execution: adding keeps a weighted average entry,
    reducing keeps the entry, crossing zero starts a new position at the execution price."""
    new_quantity = quantity + signed
    if new_quantity == 0:
        return ZERO, None
    if quantity == 0 or (quantity > 0) == (signed > 0):
        return new_quantity, weighted_average(abs(quantity), average, abs(signed), price)
    if (new_quantity > 0) == (quantity > 0):
        return new_quantity, average
    return new_quantity, price


_HANDLERS = {
    Accepted: Ledger._accepted,
    Activated: Ledger._activated,
    Triggered: Ledger._triggered,
    Filled: Ledger._filled,
    Closed: Ledger._closed,
    PriceSet: Ledger._price_set,
    PositionSet: Ledger._position_set,
    AccountRestored: Ledger._account_restored,
    OrderRestored: Ledger._order_restored,
}
