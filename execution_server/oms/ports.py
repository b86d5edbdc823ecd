"""What the OMS needs of the risk layer and the position book: narrow, so tests can use fakes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from execution_server.domain.orders import Order, OrderSpec, Side
from execution_server.domain.positions import Position, PositionChange


class Denial(Protocol):
    @property
    def reason(self) -> str: ...


class RiskGate(Protocol):
    def check(self, spec: OrderSpec) -> Denial | None: ...

    def forget(self, spec: OrderSpec) -> None:
        """Undo what an accepted check recorded (rate, duplicates) when its write rolls back."""
        ...


class PortfolioListener(Protocol):
    """The risk layer's in-memory portfolio, kept current by the OMS (O(1) per call)."""

    def order_opened(self, order: Order) -> None: ...

    def order_filled(
        self, order_before: Order, quantity: Decimal, price: Decimal, change: PositionChange | None = None
    ) -> None: ...

    def order_closed(self, order: Order) -> None: ...

    def position_adjusted(
        self, strategy_id: str, symbol: str, quantity: Decimal, average_entry_price: Decimal | None
    ) -> None: ...

    def restore_point(self, strategy_id: str, symbol: str) -> Callable[[], None]:
        """A function that undoes every change to the strategy's and the account's lines in
        `symbol` made after it was taken (a repair whose write rolls back)."""
        ...


class PositionLedger(Protocol):
    """The position book (positions/tracker.py): a fill's positions are computed there, once."""

    def get(self, strategy_id: str, symbol: str) -> Position: ...

    def fill_outcome(
        self, strategy_id: str, symbol: str, side: Side, quantity: Decimal, price: Decimal
    ) -> tuple[Position, Position]: ...

    def adjust(self, strategy_id: str, symbol: str, position: Position, account: Position) -> None: ...

    def restore_point(self, strategy_id: str, symbol: str) -> Callable[[], None]: ...
