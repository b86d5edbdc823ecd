"""Position arithmetic in the engine's decimal context (domain.money.ENGINE), so that P&L is
exact, not rounded at the default context's 28 digits.

The functions take the context explicitly rather than the thread's: the same results whatever
a caller's own context. An average entry price is a quotient (often a recurring decimal, 100/3)
and is rounded as every average is, by money.average (AVERAGE_SCALE places, half even); every
other operation here (sums, differences, products of prices and quantities) is exact.
"""

from __future__ import annotations

from decimal import Decimal

from execution_server.domain.money import ENGINE, ZERO, average, canonical

WIDE = ENGINE  # the name the tests and older callers know

__all__ = ["WIDE", "add", "average_price", "canonical", "pnl", "subtract"]


def add(a: Decimal, b: Decimal) -> Decimal:
    return ENGINE.add(a, b)


def subtract(a: Decimal, b: Decimal) -> Decimal:
    return ENGINE.subtract(a, b)


def average_price(held: Decimal, previous: Decimal | None, added: Decimal, price: Decimal) -> Decimal:
    """The average price of `held` units at `previous` plus `added` units at `price` (both
    unsigned). The notional is exact; only the division rounds (money.average)."""
    notional = ENGINE.add(ENGINE.multiply(previous or ZERO, held), ENGINE.multiply(price, added))
    return average(notional, ENGINE.add(held, added))


def pnl(entry_price: Decimal, exit_price: Decimal, signed_quantity: Decimal) -> Decimal:
    """Profit of holding `signed_quantity` (negative when short) from entry_price to exit_price.

    Realised P&L of a reduction and unrealised P&L at a mark are the same formula: a long gains
    when the price rises, a short when it falls.
    """
    return ENGINE.multiply(ENGINE.subtract(exit_price, entry_price), signed_quantity)
