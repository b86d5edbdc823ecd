"""The limits on one order taken alone: its symbol, its size, its limit price against the
reference price, and how many orders its strategy has open. Pure: they read the CheckContext.
"""

from __future__ import annotations

from decimal import Decimal

from execution_server.risk.check_context import CheckContext
from execution_server.risk.denials import RiskDenial, as_text, bound_text, deny, no_reference_price
from execution_server.risk.limits import AccountLimits, StrategyLimits

_HUNDRED = Decimal(100)


class SymbolCheck:
    """Allowed and blocked symbols: a blocked symbol is refused even when also allowed."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        order = ctx.limits.order
        if order.allowed_symbols is None and not order.blocked_symbols:
            return None
        symbol = ctx.spec.symbol.upper()
        if symbol in order.blocked_symbols:
            return deny(self.name, "SYMBOL_BLOCKED", "blocked_symbols", ",".join(sorted(order.blocked_symbols)),
                        symbol, f"{symbol} is on the blocked list")
        if order.allowed_symbols is not None and symbol not in order.allowed_symbols:
            return deny(self.name, "SYMBOL_NOT_ALLOWED", "allowed_symbols", ",".join(sorted(order.allowed_symbols)),
                        symbol, f"{symbol} is not among the allowed symbols")
        return None

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        order = limits.order
        allowed = "any" if order.allowed_symbols is None else ", ".join(sorted(order.allowed_symbols))
        blocked = ", ".join(sorted(order.blocked_symbols)) or "none"
        return f"symbols: allowed {allowed}; blocked {blocked}"


class OrderSizeCheck:
    """Max quantity and max notional of one order (notional at the limit, stop or reference price)."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        order = ctx.limits.order
        quantity = ctx.spec.quantity
        if order.max_quantity is not None and quantity > order.max_quantity:
            return deny(self.name, "MAX_ORDER_QUANTITY", "max_order_quantity", order.max_quantity, quantity,
                        f"order quantity {as_text(quantity)} exceeds limit {as_text(order.max_quantity)}")
        if order.max_notional is None:
            return None
        price = ctx.order_price
        if price is None:
            return no_reference_price(self.name, ctx, "max_order_notional")
        notional = quantity * price
        if notional > order.max_notional:
            return deny(self.name, "MAX_ORDER_NOTIONAL", "max_order_notional", order.max_notional, notional,
                        f"order notional {as_text(notional)} exceeds limit {as_text(order.max_notional)}")
        return None

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        order = limits.order
        return f"order size: {bound_text('quantity', order.max_quantity)}, {bound_text('notional', order.max_notional)}"


class PriceCollarCheck:
    """A limit price further than the collar from the reference price is a likely fat finger.
    Without a reference price there is nothing to compare with, and the order passes."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        collar = ctx.limits.order.price_collar_pct
        price, reference = ctx.spec.limit_price, ctx.reference
        if collar is None or price is None or reference is None:
            return None
        if abs(price - reference) * _HUNDRED <= collar * reference:
            return None
        away = (abs(price - reference) * _HUNDRED / reference).quantize(Decimal("0.01"))
        return deny(self.name, "PRICE_COLLAR", "price_collar_pct", collar, away,
                    f"limit price {as_text(price)} is {as_text(away)}% away from reference price "
                    f"{as_text(reference)}, more than the {as_text(collar)}% collar")

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        collar = limits.order.price_collar_pct
        if collar is None:
            return "price collar: none"
        return f"price collar: limit price within {as_text(collar)}% of the reference price"


class OpenOrdersCheck:
    """At most max_open_orders open (and in-flight) orders per strategy."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        limit = ctx.limits.order.max_open_orders
        if limit is None or ctx.totals.open_orders < limit:
            return None
        count = ctx.totals.open_orders
        return deny(self.name, "MAX_OPEN_ORDERS", "max_open_orders", limit, count,
                    f"strategy {ctx.spec.strategy_id} has {count} open orders, the limit is {limit}")

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        return f"open orders: {bound_text('per strategy', limits.order.max_open_orders)}"
