"""The resting orders of one symbol, indexed so that a price update touches only what it crosses.

Each priced lane is a SortedList of tuple keys; the leading element orders the lane so that
the orders a price crosses form a prefix, found by bisection (O(log n)) and read in O(k) for
the k orders crossed. Orders that are not crossed are never looked at. Market orders are not
kept sorted: every price update reads them all, so they are a plain set.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from sortedcontainers import SortedList

from execution_server.brokers.simulated.order import SimOrder
from execution_server.domain.orders import Side

# Larger than any arrival number: a bisection key that sorts after every order at one price.
_AFTER_ALL = sys.maxsize


class SymbolBook:
    """Five lanes: limits and stops per side (best first), and market orders by arrival."""

    __slots__ = ("buy_limits", "buy_stops", "markets", "sell_limits", "sell_stops")

    def __init__(self) -> None:
        self.buy_limits = SortedList()  # (-limit, seq): highest limit first
        self.sell_limits = SortedList()  # (limit, seq): lowest limit first
        self.buy_stops = SortedList()  # (stop, seq): a rising price crosses the lowest first
        self.sell_stops = SortedList()  # (-stop, seq): a falling price crosses the highest first
        # seq: market orders (and triggered stops) awaiting quantity. A set, not a SortedList:
        # a market order usually fills the moment it is placed, and a set adds and removes
        # it several times faster; marketable() sorts by arrival anyway.
        self.markets: set[int] = set()

    def place(self, order: SimOrder) -> None:
        """Rest an open order in the lane its type and trigger state call for."""
        self.remove(order)
        buy = order.side is Side.BUY
        if order.waits_for_stop:
            stop = order.stop_price
            lane, key = (self.buy_stops, (stop, order.seq)) if buy else (self.sell_stops, (-stop, order.seq))
        elif order.works_as_market:
            lane, key = self.markets, order.seq
        else:
            limit = order.limit_price
            lane, key = (self.buy_limits, (-limit, order.seq)) if buy else (self.sell_limits, (limit, order.seq))
        lane.add(key)
        order.resting = (lane, key)

    def remove(self, order: SimOrder) -> None:
        if order.resting is not None:
            lane, key = order.resting
            lane.remove(key)  # type: ignore[attr-defined]
            order.resting = None

    def crossed_stops(self, price: Decimal) -> list[int]:
        """Arrival numbers of the stops `price` triggers (buy: price >= stop, sell: price <= stop)."""
        seqs = [key[1] for key in self.buy_stops.irange(maximum=(price, _AFTER_ALL))]
        seqs += [key[1] for key in self.sell_stops.irange(maximum=(-price, _AFTER_ALL))]
        seqs.sort()
        return seqs

    def marketable(self, price: Decimal) -> list[int]:
        """Arrival numbers of the orders that may fill at `price`, oldest first: market
        orders, buy limits at or above it, sell limits at or below it."""
        seqs = list(self.markets)
        seqs += [key[1] for key in self.buy_limits.irange(maximum=(-price, _AFTER_ALL))]
        seqs += [key[1] for key in self.sell_limits.irange(maximum=(price, _AFTER_ALL))]
        seqs.sort()
        return seqs
