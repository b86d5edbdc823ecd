"""The price model, as pure functions: like the service's simulator, every execution happens
at the symbol's current price, which a limit order accepts only at its limit or better, and
a stop starts working once the price crosses it (buy: price >= stop, sell: price <= stop)."""

from __future__ import annotations

from decimal import Decimal

from execution_server.brokers.alpaca.emulator.orders import EmulatedOrder


def stop_crossed(order: EmulatedOrder, price: Decimal) -> bool:
    assert order.stop_price is not None
    return price >= order.stop_price if order.side == "buy" else price <= order.stop_price


def works(order: EmulatedOrder, price: Decimal) -> bool:
    """Whether the order may execute at `price` now (stop trigger noted on the order)."""
    if order.type in ("stop", "stop_limit") and not order.triggered:
        if not stop_crossed(order, price):
            return False
        order.triggered = True
    if order.type in ("limit", "stop_limit"):
        assert order.limit_price is not None
        return price <= order.limit_price if order.side == "buy" else price >= order.limit_price
    return True


def fillable(order: EmulatedOrder, price: Decimal, available: Decimal | None) -> Decimal:
    """What may fill now: the remaining quantity, capped by the liquidity left at this price."""
    if not works(order, price):
        return Decimal(0)
    remaining = order.remaining(price)
    return remaining if available is None else max(Decimal(0), min(remaining, available))


def sub_penny(price: Decimal) -> bool:
    """Doc: prices >= $1.00 take at most 2 decimals, below $1.00 at most 4."""
    places = -price.normalize().as_tuple().exponent
    return places > (2 if price >= 1 else 4)
