"""A position built from fills: signed quantity, average entry price, realised P&L. Pure.

Average-cost accounting, the convention brokers report (Alpaca's avg_entry_price):
- a fill in the direction of the position (or from flat) moves the average to the
  quantity-weighted mean of the old average and the fill price;
- a fill against it closes up to the whole position, realising (price - average) × closed
  quantity for a long and the opposite for a short, and leaves the average unchanged;
- a fill larger than the position closes it all and opens the rest on the other side at the
  fill price (a sell through zero turns a long into a short).

Invariant, for every mark price M: realised + (M - average) × quantity equals the cash-flow P&L
of the fills (sells' proceeds minus buys' cost plus the holding valued at M). Sums and products
are exact (domain.money.ENGINE); only an average is rounded, by money.average (AVERAGE_SCALE
places, half even), so the invariant holds to within that rounding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from execution_server.domain import pnl
from execution_server.domain.money import ENGINE, ZERO
from execution_server.domain.money import average as money_average
from execution_server.domain.orders import Side


class InvalidPositionFill(ValueError):
    """A fill that cannot move a position: non-positive quantity or price, or not a Decimal."""


@dataclass(frozen=True, slots=True)
class Position:
    """One symbol's holding, for a strategy or for the whole account. Immutable."""

    symbol: str
    quantity: Decimal = ZERO  # signed: negative when short
    average_entry_price: Decimal | None = None  # None exactly when flat
    realized_pnl: Decimal = ZERO

    def __post_init__(self) -> None:
        # The one shape rule every caller relies on: an average exactly when not flat.
        if (self.quantity == 0) != (self.average_entry_price is None):
            raise ValueError(
                f"{self.symbol}: quantity {self.quantity} with average entry price {self.average_entry_price}"
            )

    @classmethod
    def flat(cls, symbol: str) -> Position:
        return cls(symbol=symbol)

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0


def apply_fill(position: Position, side: Side, quantity: Decimal, price: Decimal) -> Position:
    """The position after one execution of `quantity` (positive) at `price`."""
    _check_fill(position.symbol, side, quantity, price)
    held = position.quantity
    if held == 0 or (held > 0) == (side is Side.BUY):
        return _increase(position, side, quantity, price)
    average = position.average_entry_price
    assert average is not None  # Position guarantees an average whenever it is not flat
    closed = min(held.copy_abs(), quantity)
    realized = pnl.add(position.realized_pnl, pnl.pnl(average, price, closed if held > 0 else closed.copy_negate()))
    if quantity < held.copy_abs():
        return Position(position.symbol, pnl.add(held, _signed(side, quantity)), average, realized)
    opened = pnl.subtract(quantity, closed)
    if opened == 0:
        return Position(position.symbol, ZERO, None, realized)
    return Position(position.symbol, _signed(side, opened), pnl.canonical(price), realized)


@dataclass(frozen=True, slots=True)
class PositionChange:
    """One fill's effect on one position, computed once by apply_fill: the OMS's book stores
    `after`, and the risk portfolio reads its cost basis and realised P&L from it."""

    before: Position
    after: Position

    @classmethod
    def of(cls, position: Position, side: Side, quantity: Decimal, price: Decimal) -> PositionChange:
        return cls(position, apply_fill(position, side, quantity, price))

    @property
    def realized(self) -> Decimal:
        return pnl.subtract(self.after.realized_pnl, self.before.realized_pnl)

    @property
    def cost_after(self) -> Decimal:
        """Quantity × average entry price, signed like the quantity; zero when flat."""
        average = self.after.average_entry_price
        return ZERO if average is None else self.after.quantity * average


def adjusted_to(position: Position, quantity: Decimal, average_entry_price: Decimal | None) -> Position:
    """The position set to a quantity and average from elsewhere (the broker's, a repair).

    Realised P&L is history, not state to overwrite: it is kept. A flat position has no average
    whatever is passed; a non-flat one must have one.
    """
    if quantity == 0:
        return Position(position.symbol, ZERO, None, position.realized_pnl)
    if average_entry_price is None or average_entry_price <= 0:
        raise ValueError(f"{position.symbol}: a position of {quantity} needs a positive average entry price")
    return Position(position.symbol, quantity, average_entry_price, position.realized_pnl)


def unrealized_pnl(position: Position, mark_price: Decimal) -> Decimal:
    """What closing the whole position at `mark_price` would realise."""
    if position.average_entry_price is None:
        return ZERO
    return pnl.pnl(position.average_entry_price, mark_price, position.quantity)


def _increase(position: Position, side: Side, quantity: Decimal, price: Decimal) -> Position:
    held = position.quantity.copy_abs()
    average = pnl.average_price(held, position.average_entry_price, quantity, price)
    new_quantity = pnl.add(position.quantity, _signed(side, quantity))
    return Position(position.symbol, new_quantity, average, position.realized_pnl)


def _signed(side: Side, quantity: Decimal) -> Decimal:
    # copy_negate, not unary minus: minus rounds to the thread's context, which a caller may narrow.
    return quantity if side is Side.BUY else quantity.copy_negate()


def _check_fill(symbol: str, side: Side, quantity: Decimal, price: Decimal) -> None:
    # A float here would silently carry binary rounding into P&L: refuse it loudly.
    if not isinstance(quantity, Decimal) or not isinstance(price, Decimal):
        raise InvalidPositionFill(
            f"{symbol}: quantity and price must be Decimal, got {type(quantity).__name__} and {type(price).__name__}"
        )
    if not isinstance(side, Side):
        raise InvalidPositionFill(f"{symbol}: side must be a Side, got {side!r}")
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidPositionFill(f"{symbol}: fill quantity must be positive, got {quantity}")
    if not price.is_finite() or price <= 0:
        raise InvalidPositionFill(f"{symbol}: fill price must be positive, got {price}")


def combined(symbol: str, positions: Iterable[Position]) -> Position:
    """Several strategies' positions in one symbol as one position (a token's strategies summed).

    The quantity is the signed sum. The average entry price is that of the side the sum is on:
    the quantity-weighted mean of the averages of the positions on that side (between their
    prices, as a broker's would be). Positions on the other side net against it, and what that
    netting locks in is realised: realised = Σ realised + average × quantity − Σ average_i ×
    quantity_i. So the module's invariant holds for the sum: for every mark price M, realised +
    (M − average) × quantity is the sum of the parts' realised + unrealised P&L. When all the
    positions are on one side, the realised P&L is exactly the sum of theirs.
    """
    parts = list(positions)
    quantity = ZERO
    cost = ZERO  # Σ average_i × quantity_i, signed, exact
    realized = ZERO
    for part in parts:
        quantity = pnl.add(quantity, part.quantity)
        realized = pnl.add(realized, part.realized_pnl)
        if part.average_entry_price is not None:
            cost = pnl.add(cost, ENGINE.multiply(part.average_entry_price, part.quantity))
    if quantity == 0:
        return Position(symbol, ZERO, None, pnl.canonical(pnl.subtract(realized, cost)))
    same_side = [part for part in parts if not part.is_flat and (part.quantity > 0) == (quantity > 0)]
    side_quantity = ZERO
    side_cost = ZERO
    for part in same_side:
        assert part.average_entry_price is not None
        side_quantity = pnl.add(side_quantity, part.quantity)
        side_cost = pnl.add(side_cost, ENGINE.multiply(part.average_entry_price, part.quantity))
    average_price = money_average(side_cost, side_quantity)
    if len(same_side) == len([part for part in parts if not part.is_flat]):
        return Position(symbol, quantity, average_price, realized)  # nothing nets: realised is the sum
    locked_in = pnl.subtract(ENGINE.multiply(average_price, quantity), cost)
    return Position(symbol, quantity, average_price, pnl.canonical(pnl.add(realized, locked_in)))
