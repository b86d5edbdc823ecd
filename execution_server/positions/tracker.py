"""Positions per strategy and for the whole account, from fills; the broker's snapshot beside them.

PositionBook is the in-memory state the OMS updates on every fill (O(1): two dict look-ups and
two Position values). The account's quantity is, at all times, the sum of the strategies'; its
average entry price and realised P&L, however, come from the account's own fill sequence, as the
broker sees it: a long in one strategy and a short in another net to a smaller holding whose
P&L is not the sum of theirs (strategy A buys 10 at 100, B sells 10 at 110: each holds an open
position, while the account is flat with 100 realised).

PositionTracker is the library API (`update_from_broker`, `await reconcile(client)`): it fetches
the broker's side and hands both to the pure diff in reconcile.compare.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from execution_server.brokers.base import BrokerClient, BrokerOrder, BrokerPosition
from execution_server.domain import pnl
from execution_server.domain import positions as pos
from execution_server.domain.orders import Order, Side
from execution_server.domain.positions import Position
from execution_server.reconcile import compare
from execution_server.reconcile.compare import ReconciliationResult


class AccountMismatch(ValueError):
    """An account position whose quantity is not the sum of the strategies' for that symbol."""

    def __init__(self, symbol: str, account_quantity: Decimal, strategies_quantity: Decimal) -> None:
        super().__init__(
            f"{symbol}: account quantity {account_quantity} differs from the strategies' sum {strategies_quantity}"
        )
        self.symbol = symbol
        self.account_quantity = account_quantity
        self.strategies_quantity = strategies_quantity


class PositionBook:
    """Every strategy's position and the account's, per symbol. Not thread-safe: one owner.

    Flat positions stay in the book: they still carry realised P&L.
    """

    def __init__(self) -> None:
        self._strategies: dict[str, dict[str, Position]] = {}
        self._account: dict[str, Position] = {}

    def fill_outcome(
        self, strategy_id: str, symbol: str, side: Side | str, quantity: Decimal, price: Decimal
    ) -> tuple[Position, Position]:
        """The strategy's and the account's positions after one execution, computed once, by
        the domain (domain/positions.py), and not yet applied: the OMS computes them before it
        writes anything, so that an invalid fill is refused with nothing changed."""
        side = coerce_side(side)
        strategy = pos.apply_fill(self.get(strategy_id, symbol), side, quantity, price)
        account = pos.apply_fill(self.account(symbol), side, quantity, price)
        return strategy, account

    def apply_fill(
        self, strategy_id: str, symbol: str, side: Side | str, quantity: Decimal, price: Decimal
    ) -> tuple[Position, Position]:
        """Apply one execution to the strategy and to the account; returns both new values
        (what the caller persists). Either both change or, on an invalid fill, neither."""
        strategy, account = self.fill_outcome(strategy_id, symbol, side, quantity, price)
        self._put(strategy_id, symbol, strategy, account)
        return strategy, account

    def _put(self, strategy_id: str, symbol: str, strategy: Position, account: Position) -> None:
        self._strategies.setdefault(strategy_id, {})[symbol] = strategy
        self._account[symbol] = account

    def set(self, strategy_id: str, symbol: str, position: Position) -> Position:
        """Replace a strategy's position (loading from the database, a repair); returns the
        account's new value.

        The account's quantity moves by the same amount, so it stays the strategies' sum. Its
        realised P&L is kept, and so is its average unless the account went flat or changed
        side (then the given position's average is the best there is): call set_account
        afterwards with the account's own values when they are known.
        """
        if position.symbol != symbol:
            raise ValueError(f"position for {position.symbol} set under symbol {symbol}")
        account = self.account(symbol)
        quantity = pnl.add(pnl.subtract(account.quantity, self.get(strategy_id, symbol).quantity), position.quantity)
        average = _kept_average(account, quantity, position) or self._average_on_side(symbol, quantity, strategy_id)
        account = pos.adjusted_to(account, quantity, average)
        self._strategies.setdefault(strategy_id, {})[symbol] = position
        self._account[symbol] = account
        return account

    def set_account(self, symbol: str, position: Position) -> None:
        """Give the account its own average entry price and realised P&L (from the database, or
        the broker's in a repair). Its quantity must already be the strategies' sum."""
        if position.symbol != symbol:
            raise ValueError(f"position for {position.symbol} set under symbol {symbol}")
        current = self.account(symbol).quantity
        if position.quantity != current:
            raise AccountMismatch(symbol, position.quantity, current)
        self._account[symbol] = position

    def adjust(self, strategy_id: str, symbol: str, position: Position, account: Position) -> None:
        """Replace a strategy's position and give the account its own values (a repair): both
        change or, when the account's quantity would not be the strategies' sum, neither, and
        AccountMismatch says so."""
        if position.symbol != symbol or account.symbol != symbol:
            raise ValueError(f"positions for {position.symbol} and {account.symbol} set under symbol {symbol}")
        current = self.account(symbol).quantity
        strategies = pnl.add(pnl.subtract(current, self.get(strategy_id, symbol).quantity), position.quantity)
        if account.quantity != strategies:
            raise AccountMismatch(symbol, account.quantity, strategies)
        self._put(strategy_id, symbol, position, account)

    def restore_point(self, strategy_id: str, symbol: str) -> Callable[[], None]:
        """A function that puts the strategy's and the account's positions in `symbol` back as
        they are now, absent ones included (a flat position left behind would be listed)."""
        had_strategy = strategy_id in self._strategies
        strategy_before = self._strategies.get(strategy_id, {}).get(symbol)
        account_before = self._account.get(symbol)

        def restore() -> None:
            held = self._strategies.setdefault(strategy_id, {})
            if strategy_before is None:
                held.pop(symbol, None)
            else:
                held[symbol] = strategy_before
            if not had_strategy and not held:
                del self._strategies[strategy_id]
            if account_before is None:
                self._account.pop(symbol, None)
            else:
                self._account[symbol] = account_before

        return restore

    def _average_on_side(self, symbol: str, quantity: Decimal, except_strategy: str) -> Decimal | None:
        # Rare (the account changed side through a set of a position on the other side): another
        # strategy holds the symbol on the account's side, since the account is their sum.
        for strategy_id, held in self._strategies.items():
            position = held.get(symbol) if strategy_id != except_strategy else None
            if position is not None and _same_side(position.quantity, quantity):
                return position.average_entry_price
        return None

    def get(self, strategy_id: str, symbol: str) -> Position:
        """The strategy's position; a flat one when it never traded the symbol."""
        return self._strategies.get(strategy_id, {}).get(symbol) or Position.flat(symbol)

    def account(self, symbol: str) -> Position:
        """The account's position; a flat one when nobody traded the symbol."""
        return self._account.get(symbol) or Position.flat(symbol)

    def strategy_positions(self, strategy_id: str) -> list[Position]:
        """The strategy's positions, flat ones included, sorted by symbol."""
        held = self._strategies.get(strategy_id, {})
        return [held[symbol] for symbol in sorted(held)]

    def account_positions(self) -> list[Position]:
        """The account's positions, flat ones included, sorted by symbol."""
        return [self._account[symbol] for symbol in sorted(self._account)]

    def account_quantities(self) -> dict[str, Decimal]:
        """Symbol → the account's signed quantity: the local side of a reconciliation."""
        return {symbol: position.quantity for symbol, position in self._account.items()}

    def strategy_ids(self) -> list[str]:
        return sorted(self._strategies)


class PositionTracker:
    """The library API of position tracking and reconciliation (see the service's docs).

    tracker = PositionTracker()
    tracker.update_from_broker(await client.positions())
    result = await tracker.reconcile(client, local_orders=open_orders)
    if result.has_discrepancies: ...
    """

    # How many find_by_client_id requests reconcile keeps in the air: enough to be quick,
    # few enough not to trip a broker's rate limit.
    LOOKUP_CONCURRENCY = 8

    def __init__(self, book: PositionBook | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.book = book if book is not None else PositionBook()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._broker_positions: tuple[BrokerPosition, ...] = ()
        self._broker_positions_at: datetime | None = None

    @property
    def broker_positions(self) -> tuple[BrokerPosition, ...]:
        """The broker's latest snapshot, as given to update_from_broker or fetched by reconcile."""
        return self._broker_positions

    @property
    def broker_positions_at(self) -> datetime | None:
        return self._broker_positions_at

    def update_from_broker(self, broker_positions: Sequence[BrokerPosition]) -> None:
        """Keep the broker's snapshot. It changes nothing in the book: adopting the broker's
        figures is a repair, decided on a reconciliation's result."""
        self._broker_positions = tuple(broker_positions)
        self._broker_positions_at = self._clock()

    def apply_fill(
        self, strategy_id: str, symbol: str, side: Side | str, quantity: Decimal, price: Decimal
    ) -> tuple[Position, Position]:
        return self.book.apply_fill(strategy_id, symbol, side, quantity, price)

    def positions(self, strategy_id: str = "") -> list[Position]:
        """A strategy's positions, or the account's when strategy_id is empty (as GetPositions)."""
        return self.book.strategy_positions(strategy_id) if strategy_id else self.book.account_positions()

    async def reconcile(
        self, client: BrokerClient, local_orders: Sequence[Order] | None = None
    ) -> ReconciliationResult:
        """Compare the account's positions, and local_orders when given, with the broker's now.

        local_orders should hold at least every open order here (closed ones are allowed). When
        it is None only positions are compared: without our orders every open order at the
        broker would look unknown. Broker errors propagate; nothing is half-reported.
        """
        if local_orders is None:
            broker_positions = await client.positions()
            broker_open: list[BrokerOrder] = []
            lookup: dict[str, BrokerOrder | None] = {}
            local_orders = ()
        else:
            broker_positions, broker_open = await _all(client.positions(), client.open_orders())
            lookup = await self._look_up(client, compare.orders_to_look_up(local_orders, broker_open))
        self.update_from_broker(broker_positions)
        return compare.reconcile(
            self.book.account_quantities(), local_orders, broker_positions, broker_open, lookup, self._clock()
        )

    async def _look_up(self, client: BrokerClient, client_order_ids: list[str]) -> dict[str, BrokerOrder | None]:
        """The broker's word on each order it no longer lists as open: closed, or never heard of."""
        limit = asyncio.Semaphore(self.LOOKUP_CONCURRENCY)

        async def one(client_order_id: str) -> BrokerOrder | None:
            async with limit:
                return await client.find_by_client_id(client_order_id)

        found = await _all(*(one(client_order_id) for client_order_id in client_order_ids))
        return dict(zip(client_order_ids, found, strict=True))


def coerce_side(side: Side | str) -> Side:
    """Side from our enum or the spellings Python users already write: "BUY", "buy", and
    alpaca-py's OrderSide.BUY (a str enum whose string is "buy")."""
    if isinstance(side, Side):
        return side
    if isinstance(side, str):
        try:
            return Side(str.upper(side).strip())
        except ValueError:
            pass
    raise ValueError(f"not a side: {side!r}")


async def _all(*requests: Awaitable[Any]) -> list[Any]:
    """Every request's answer, or the first error once all have finished: no request is left
    running behind a failed reconciliation, and no error goes unretrieved."""
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


def _kept_average(account: Position, quantity: Decimal, position: Position) -> Decimal | None:
    if quantity == 0:
        return None
    if _same_side(account.quantity, quantity):
        return account.average_entry_price
    return position.average_entry_price if _same_side(position.quantity, quantity) else None


def _same_side(a: Decimal, b: Decimal) -> bool:
    return a != 0 and b != 0 and (a > 0) == (b > 0)
