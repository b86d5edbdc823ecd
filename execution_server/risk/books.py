"""The lines the PortfolioView keeps (a Book per scope and symbol, the Totals per scope) and
the copies of them it hands out. Live and shared: the checks read them, only the
PortfolioView changes them. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from execution_server.domain.money import ZERO, average


class Book:
    """One position line (a strategy's or the account's, in one symbol). Live and shared:
    read it, never change it outside this module."""

    __slots__ = ("quantity", "cost", "realized", "open_buy", "open_sell", "gross")

    def __init__(self) -> None:
        self.quantity = ZERO  # signed: negative when short
        self.cost = ZERO  # quantity × average price, signed like the quantity
        self.realized = ZERO  # realised P&L of the day
        self.open_buy = ZERO  # open remainder of buy orders
        self.open_sell = ZERO
        self.gross = ZERO  # this line's share of the scope's gross exposure

    @property
    def average_price(self) -> Decimal | None:
        return average(self.cost, self.quantity) if self.quantity else None


class Totals:
    """The running totals of one strategy or of the account. Live and shared: read only."""

    __slots__ = (
        "books",
        "open_orders",
        "gross",
        "position_value",
        "buy_value",
        "sell_value",
        "day_cash",
        "opening_value",
        "opening_cost",
        "realized",
    )

    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        self.open_orders = 0
        self.gross = ZERO
        self.position_value = ZERO  # Σ q × mark
        self.buy_value = ZERO  # Σ open buy remainder × mark
        self.sell_value = ZERO
        self.day_cash = ZERO  # Σ sell proceeds − buy costs of today's fills
        self.opening_value = ZERO  # position value when the day started, moved by repairs
        self.opening_cost = ZERO  # Σ book cost when the day started, moved by repairs
        self.realized = ZERO  # realised P&L of the day

    @property
    def day_pnl(self) -> Decimal:
        return self.position_value + self.day_cash - self.opening_value

    @property
    def net_high(self) -> Decimal:
        """Net exposure if every open buy filled."""
        return self.position_value + self.buy_value

    @property
    def net_low(self) -> Decimal:
        """Net exposure if every open sell filled."""
        return self.position_value - self.sell_value

    def book(self, symbol: str) -> Book:
        return self.books.get(symbol, EMPTY_BOOK)


EMPTY_BOOK = Book()
EMPTY_TOTALS = Totals()


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A copy of one book, for explanations and for tests."""

    symbol: str
    quantity: Decimal
    average_price: Decimal | None
    realized_pnl: Decimal
    open_buy_quantity: Decimal
    open_sell_quantity: Decimal


@dataclass(frozen=True, slots=True)
class ExposureSnapshot:
    gross: Decimal
    net_long: Decimal  # net exposure if every open buy filled
    net_short: Decimal  # net exposure if every open sell filled
    day_pnl: Decimal
    realized_pnl: Decimal
    open_orders: int
