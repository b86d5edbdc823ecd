"""Decimal parsing and formatting for quantities and prices: never a float on the path of money."""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation, localcontext

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
    """The canonical text of a decimal: no exponent, no trailing zeros ("10", "0.5"); None is ""."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def weighted_average(
    previous_quantity: Decimal, previous_average: Decimal | None, quantity: Decimal, price: Decimal
) -> Decimal:
    """The quantity-weighted average price after adding `quantity` at `price`, exact in Decimal.

    Division is done in a context wide enough that the result is exact for the prices and
    quantities markets use (a handful of decimal places); it is then normalised.
    """
    with localcontext(WIDE):
        total = previous_quantity + quantity
        if total == 0:
            raise ValueError("average over zero quantity")
        notional = (previous_average or ZERO) * previous_quantity + price * quantity
    with localcontext(AVERAGE):
        return +(notional / total)


# Sums and products of prices and quantities are exact in this context (the default one keeps
# only 28 digits and can be changed by any caller); only a recurring average is rounded.
WIDE = Context(prec=200)
AVERAGE = Context(prec=60)
