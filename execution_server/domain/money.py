"""Decimal parsing and formatting for quantities and prices: never a float on the path of money."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

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
    total = previous_quantity + quantity
    if total == 0:
        raise ValueError("average over zero quantity")
    notional = (previous_average or ZERO) * previous_quantity + price * quantity
    return _exact_divide(notional, total)


def _exact_divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    from decimal import localcontext

    with localcontext() as context:
        context.prec = 60
        return (numerator / denominator).normalize()
