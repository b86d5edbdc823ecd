"""Position arithmetic in one wide decimal context, so that P&L is exact, not rounded at 28 digits.

Python's default decimal context keeps 28 significant digits and is thread-local state that any
caller may change. An average entry price is a quotient (often a recurring decimal, 100/3), kept
to AVERAGE_DIGITS significant digits; every other operation here (sums, differences, products of
prices and quantities) is exact in WIDE, whose precision is far above what those operands need.
The only rounding in a position is therefore the one in the average, and it is tiny and stated.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow

# Significant digits of an average price: the same as money.weighted_average, so that an order's
# average fill price and a position's average entry price agree digit for digit.
AVERAGE_DIGITS = 60

WIDE = Context(prec=200, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_ONE = Decimal(1)
_DIVIDE = Context(prec=AVERAGE_DIGITS, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


def add(a: Decimal, b: Decimal) -> Decimal:
    return WIDE.add(a, b)


def subtract(a: Decimal, b: Decimal) -> Decimal:
    return WIDE.subtract(a, b)


def average_price(held: Decimal, average: Decimal | None, added: Decimal, price: Decimal) -> Decimal:
    """The average price of `held` units at `average` plus `added` units at `price` (both unsigned).

    The notional is exact; only the division rounds, to AVERAGE_DIGITS significant digits.
    """
    total = WIDE.add(held, added)
    if total == 0:
        raise ValueError("average over zero quantity")
    notional = WIDE.add(WIDE.multiply(average or Decimal(0), held), WIDE.multiply(price, added))
    return canonical(_DIVIDE.divide(notional, total))


def canonical(value: Decimal) -> Decimal:
    """The same number without trailing zeros and without an exponent ("187.25", "100", never
    "1E+2"), so that stored and displayed averages look alike however they were computed."""
    normal = value.normalize(_DIVIDE)
    return normal.quantize(_ONE, context=_DIVIDE) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


def pnl(entry_price: Decimal, exit_price: Decimal, signed_quantity: Decimal) -> Decimal:
    """Profit of holding `signed_quantity` (negative when short) from entry_price to exit_price.

    Realised P&L of a reduction and unrealised P&L at a mark are the same formula: a long gains
    when the price rises, a short when it falls.
    """
    return WIDE.multiply(WIDE.subtract(exit_price, entry_price), signed_quantity)
