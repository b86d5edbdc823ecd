"""What every pre-trade check reads (the CheckContext) and the shape of a check.

Checks read only the CheckContext (the order, the limits in force for its strategy, the
portfolio's live totals, the prices): no I/O. Each returns a RiskDenial or None; a denial
becomes a REJECTED order, never an exception.

Limits bind in the direction an order pushes. An order that leaves a worst case no larger
than it was is never refused by a position or exposure limit, so a strategy can always
trade its way back inside limits that were lowered under it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from execution_server.domain.orders import OrderSpec, OrderType, Side
from execution_server.risk.books import Totals
from execution_server.risk.denials import RiskDenial
from execution_server.risk.limits import AccountLimits, StrategyLimits


class CheckContext:
    """Everything the checks need about one order, gathered once by the manager. A plain
    slotted class, not a frozen dataclass: one is built per order, on the hot path.

    `reference` is the broker's reference price right now (None when unknown). `mark` is
    the price the portfolio's books in this symbol are valued at (zero when it has none yet),
    and `price` the one to value this order at: the mark, else the order's own price, else
    None (a market order for a symbol never priced).
    """

    __slots__ = ("spec", "limits", "account_limits", "totals", "account", "book", "account_book",
                 "reference", "mark", "price", "now")

    def __init__(self, spec: OrderSpec, limits: StrategyLimits, account_limits: AccountLimits,
                 totals: Totals, account: Totals, reference: Decimal | None, mark: Decimal,
                 price: Decimal | None, now: float) -> None:
        self.spec = spec
        self.limits = limits
        self.account_limits = account_limits
        self.totals = totals
        self.account = account
        self.book = totals.book(spec.symbol)
        self.account_book = account.book(spec.symbol)
        self.reference = reference
        self.mark = mark
        self.price = price
        self.now = now

    @property
    def order_price(self) -> Decimal | None:
        """The price that makes the order's notional: limit, else stop, else the mark."""
        spec = self.spec
        if spec.limit_price is not None:
            return spec.limit_price
        if spec.order_type is OrderType.STOP and spec.stop_price is not None:
            return spec.stop_price
        return self.price

    def only_shrinks(self) -> bool:
        """Opposite to the strategy's position, and with its open same-side orders no
        larger than it: whatever fills, the position only gets smaller."""
        position = self.book.quantity
        if self.spec.side is Side.BUY:
            return position < 0 and self.spec.quantity + self.book.open_buy <= -position
        return position > 0 and self.spec.quantity + self.book.open_sell <= position


class Check(Protocol):
    """One check: `name` is its group ("order_limits", "position", ...), as in denials and
    in the keys of GetRiskLimits."""

    name: str

    def check(self, ctx: CheckContext) -> RiskDenial | None: ...

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str: ...
