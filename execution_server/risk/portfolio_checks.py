"""Limits on what the portfolio could become with this order: the position per symbol and the
gross and net exposure, each for the strategy and then for the account, in the worst case of
every open order on one side filling. They bind only in the direction the order pushes. Pure:
they read the CheckContext, whose totals the PortfolioView keeps current.
"""

from __future__ import annotations

from decimal import Decimal

from execution_server.domain.orders import Side
from execution_server.risk.books import Book, Totals
from execution_server.risk.check_context import CheckContext
from execution_server.risk.denials import RiskDenial, as_text, bound_text, deny, no_reference_price, scope_names
from execution_server.risk.limits import AccountLimits, ExposureLimits, PositionLimits, StrategyLimits


class PositionCheck:
    """The position a fill of this order could make, with every open order of the same side
    filled too, stays within max quantity and notional per symbol: for the strategy, then
    for the account. A buy is bounded on the long side, a sell on the short side."""

    name = "position"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        return _position(ctx, ctx.limits.position, ctx.book, False) or _position(
            ctx, ctx.account_limits.position, ctx.account_book, True
        )

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        own, total = limits.position, account.position
        return (f"position per symbol: strategy {bound_text('quantity', own.max_quantity)}, "
                f"{bound_text('notional', own.max_notional)}; account {bound_text('quantity', total.max_quantity)}, "
                f"{bound_text('notional', total.max_notional)}")


def _position(ctx: CheckContext, limits: PositionLimits, book: Book, account: bool) -> RiskDenial | None:
    max_quantity, max_notional = limits.max_quantity, limits.max_notional
    if max_quantity is None and max_notional is None:
        return None
    spec = ctx.spec
    if spec.side is Side.BUY:
        size = book.quantity + book.open_buy + spec.quantity
        could_reach, orders = size, "open buy orders"
    else:
        size = spec.quantity + book.open_sell - book.quantity
        could_reach, orders = -size, "open sell orders"
    if size <= 0:
        return None
    symbol, (who, prefix) = spec.symbol, scope_names(ctx, account)
    if max_quantity is not None and size > max_quantity:
        return deny("position", "MAX_POSITION_QUANTITY", f"{prefix}max_position_quantity", max_quantity,
                    could_reach, f"{who} position in {symbol} could reach {as_text(could_reach)} with this "
                    f"order and its {orders}, beyond the limit of {as_text(max_quantity)}")
    if max_notional is None:
        return None
    if ctx.price is None:
        return no_reference_price("position", ctx, f"{prefix}max_position_notional")
    notional = size * ctx.price
    if notional > max_notional:
        return deny("position", "MAX_POSITION_NOTIONAL", f"{prefix}max_position_notional", max_notional,
                    notional, f"{who} position in {symbol} could reach a notional of {as_text(notional)} "
                    f"with this order and its {orders}, beyond the limit of {as_text(max_notional)}")
    return None


class ExposureCheck:
    """Gross and net exposure after this order (positions and open orders at the mark, worst
    case per symbol) within their limits: for the strategy, then for the account. Gross binds
    when the order makes it larger; net binds upwards for a buy, downwards for a sell."""

    name = "exposure"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        return _exposure(ctx, ctx.limits.exposure, ctx.totals, ctx.book, False) or _exposure(
            ctx, ctx.account_limits.exposure, ctx.account, ctx.account_book, True
        )

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        own, total = limits.exposure, account.exposure
        return (f"exposure: strategy {bound_text('gross', own.max_gross)}, {bound_text('net', own.max_net, '±')}; "
                f"account {bound_text('gross', total.max_gross)}, {bound_text('net', total.max_net, '±')}")


def _exposure(ctx: CheckContext, limits: ExposureLimits, totals: Totals, book: Book,
              account: bool) -> RiskDenial | None:
    if limits.max_gross is None and limits.max_net is None:
        return None
    price = ctx.price
    if price is None:
        which = "gross" if limits.max_gross is not None else "net"
        return no_reference_price("exposure", ctx, f"{scope_names(ctx, account)[1]}max_{which}_exposure")
    if limits.max_gross is not None:
        denial = _gross(ctx, price, limits.max_gross, totals, book, account)
        if denial is not None:
            return denial
    if limits.max_net is not None:
        return _net(ctx, price, limits.max_net, totals, book, account)
    return None


def _gross(ctx: CheckContext, price: Decimal, limit: Decimal, totals: Totals, book: Book,
           account: bool) -> RiskDenial | None:
    """Binds only when this order makes gross exposure larger than it already is."""
    quantity, long_side, short_side = ctx.spec.quantity, book.quantity + book.open_buy, book.quantity - book.open_sell
    if ctx.spec.side is Side.BUY:
        long_side += quantity
    else:
        short_side -= quantity
    gross = totals.gross - book.gross + max(abs(long_side), abs(short_side)) * price
    if gross <= limit or gross <= totals.gross:
        return None
    who, prefix = scope_names(ctx, account)
    return deny("exposure", "MAX_GROSS_EXPOSURE", f"{prefix}max_gross_exposure", limit, gross,
                f"{who} gross exposure would reach {as_text(gross)} with this order, beyond the limit of {as_text(limit)}")


def _net(ctx: CheckContext, price: Decimal, limit: Decimal, totals: Totals, book: Book,
         account: bool) -> RiskDenial | None:
    """A buy can only raise net exposure and a sell only lower it: each binds on its own side.
    The symbol's worst case on that side is revalued from the mark to the order's price."""
    quantity, mark = ctx.spec.quantity, ctx.mark
    if ctx.spec.side is Side.BUY:
        long_side = book.quantity + book.open_buy
        net = totals.net_high - long_side * mark + (long_side + quantity) * price
        if net <= limit:
            return None
    else:
        short_side = book.quantity - book.open_sell
        net = totals.net_low - short_side * mark + (short_side - quantity) * price
        if net >= -limit:
            return None
    who, prefix = scope_names(ctx, account)
    return deny("exposure", "MAX_NET_EXPOSURE", f"{prefix}max_net_exposure", limit, net,
                f"{who} net exposure would reach {as_text(net)} with this order, beyond the limit of ±{as_text(limit)}")
