"""Decimal parsing and formatting for quantities and prices: never a float on the path of money."""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation

ZERO = Decimal(0)


class InvalidDecimal(ValueError):
    """A text that should hold a finite decimal number does not."""


def parse_decimal(text: str) -> Decimal:
    """Parse a decimal string ("10", "0.5", "187.25"); refuse NaN, infinities and exponents' junk."""
    if not isinstance(text, str):
        raise InvalidDecimal(f"expected a decimal string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidDecimal("empty")
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        raise InvalidDecimal(f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise InvalidDecimal(f"not a finite number: {text!r}")
    return value


def format_decimal(value: Decimal | None) -> str:
    """The canonical text of a decimal: no exponent, no trailing zeros ("10", "0.5"); None is "".
    Exact whatever the number of digits and whatever the caller's decimal context."""
    if value is None:
        return ""
    text = str(value)
    if text.isdigit():  # a whole number with exponent zero ("100", the usual quantity)
        return text
    if value == 0:
        return "0"
    # normalize() rounds to its context's precision: in the thread's context (28 digits unless
    # a caller changed it) a 36-digit quantity or a 60-digit average came back rounded.
    normal = value.normalize(_EXACT)
    text = str(normal)
    # str() is cheaper than format(, "f") and agrees with it unless it picks an exponent
    # (a positive one, or a number below 1E-6); the context decides "E" or "e".
    if "E" in text or "e" in text:
        return format(normal, "f")
    return text


_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def weighted_average(
    previous_quantity: Decimal, previous_average: Decimal | None, quantity: Decimal, price: Decimal
) -> Decimal:
    """The quantity-weighted average price after adding `quantity` at `price`, exact in Decimal.

    Division is done in a context wide enough that the result is exact for the prices and
    quantities markets use (a handful of decimal places); only the quotient is rounded, to
    AVERAGE's 60 digits (it is not normalised: 187.20 stays 187.20).
    """
    # The contexts' own methods rather than operators inside localcontext(): the same results,
    # without copying and swapping the thread's context twice per fill. They set flags on WIDE
    # and AVERAGE, which nothing reads; their traps are the default ones.
    total = WIDE.add(previous_quantity, quantity)
    if total == 0:
        raise ValueError("average over zero quantity")
    notional = WIDE.add(WIDE.multiply(previous_average or ZERO, previous_quantity), WIDE.multiply(price, quantity))
    return AVERAGE.plus(AVERAGE.divide(notional, total))  # plus(): -0 becomes 0, as before


# Sums and products of prices and quantities are exact in this context (the default one keeps
# only 28 digits and can be changed by any caller); only a recurring average is rounded.
WIDE = Context(prec=200)
AVERAGE = Context(prec=60)
