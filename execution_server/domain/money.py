"""Decimal parsing and formatting for quantities and prices: never a float on the path of money.

The declared precision, in one place:

* The edge accepts quantities and prices of at most MAX_INTEGER_DIGITS digits before the point
  and MAX_SCALE after it (MAX_DIGITS in all); nothing beyond is let in.
* Behind it every sum, difference and product is exact: the process computes in ENGINE, whose
  precision is far above what any of them can need (see ENGINE_DIGITS), installed here, at
  import, for this thread and as the prototype every new thread and context copies.
* The one rounding is of averages, which are quotients (100 / 3): `average` rounds them half
  even to AVERAGE_SCALE places, and every average in the service (fill, entry, cost basis) is
  computed by it.

Both stores hold every value this produces exactly: PostgreSQL's NUMERIC is unbounded, and
SQLite keeps the canonical text (store.types.Money).
"""

from __future__ import annotations

import decimal
import re
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from execution_server.domain.quoting import excerpt

ZERO = Decimal(0)

MAX_INTEGER_DIGITS = 24
MAX_SCALE = 12
MAX_DIGITS = MAX_INTEGER_DIGITS + MAX_SCALE
# An average lies between the prices it averages (at most MAX_INTEGER_DIGITS before the point);
# this many places after it is the scale of a notional (quantity × price), a million million
# times finer than any price the edge accepts.
AVERAGE_SCALE = 2 * MAX_SCALE

# The widest exact result the engine forms from accepted values is a P&L term, a quantity times
# a price difference against an average: at most 2 × 24 + 1 digits before the point and
# 12 + 24 after it, 85 digits; sums of such terms grow by one digit per tenfold count. 200
# digits leave more than a hundred to spare: no sum, difference or product of the service
# rounds, and no trap on Inexact is needed for that (the property tests run with one set, and
# pass). The precision is a ceiling, not a cost: arithmetic costs what its operands' digits do.
ENGINE_DIGITS = 200
ENGINE = Context(
    prec=ENGINE_DIGITS,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_AVERAGE_QUANTUM = Decimal(f"1e-{AVERAGE_SCALE}")


def _install() -> None:
    """Make ENGINE the decimal context of the process. Contexts are per thread (and per asyncio
    task, which copies its creator's): the event loop's thread gets it here, and every thread
    started later (aiosqlite's worker, executors) starts from DefaultContext, set to it."""
    for field in ("prec", "rounding", "Emax", "Emin", "capitals", "clamp"):
        setattr(decimal.DefaultContext, field, getattr(ENGINE, field))
    decimal.DefaultContext.traps = dict(ENGINE.traps)  # type: ignore[assignment]
    decimal.setcontext(ENGINE.copy())


_install()


def average(notional: Decimal, quantity: Decimal) -> Decimal:
    """notional / quantity, the service's one rounding: half even to AVERAGE_SCALE places, then
    without trailing zeros or exponent ("187.2", "100"), so that stored and shown averages look
    alike however they were computed.

    ENGINE's quotient is correct to 200 digits, and a quotient of operands this size that is not
    exactly a tie at AVERAGE_SCALE places is further than 10^-100 from one: rounding it again to
    AVERAGE_SCALE places gives the correctly rounded result (no double rounding)."""
    if quantity == 0:
        raise ValueError("average over zero quantity")
    rounded = ENGINE.divide(notional, quantity).quantize(_AVERAGE_QUANTUM, context=ENGINE)
    return canonical(rounded)


def canonical(value: Decimal) -> Decimal:
    """The same number without trailing zeros and without an exponent ("187.25", "100", never
    "1E+2" or "-0")."""
    normal = ENGINE.plus(value).normalize(ENGINE)
    if not normal.is_finite():
        return normal
    return normal.quantize(_ONE, context=ENGINE) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


_ONE = Decimal(1)


def beyond_precision(value: Decimal) -> str:
    """Why a quantity or price is beyond the declared precision (naming the limit), or ""."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_SCALE:
        return f"at most {MAX_SCALE} decimal places"
    if value != 0 and value.adjusted() >= MAX_INTEGER_DIGITS:
        return f"at most {MAX_INTEGER_DIGITS} digits before the decimal point"
    return ""


class InvalidDecimal(ValueError):
    """A text that should hold a finite decimal number does not."""


# Plain decimal syntax, ASCII only: digits, at most one point with a digit on at least one side,
# a leading minus only where the caller allows a sign. No exponent ("1e3" was 1,000 shares), no
# underscore ("1_000"), no other digits ("١٢", "１٠": Python's Decimal takes any Unicode digit),
# no whitespace, no NaN or infinity. Bounded before parsing: leading zeros and trailing fraction
# zeros aside, the declared precision needs far fewer characters than this.
_UNSIGNED = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
MAX_DECIMAL_TEXT = 64


def parse_decimal(text: str, *, signed: bool = False) -> Decimal:
    """Parse a plain decimal string ("10", "0.5", "187.25"; "-3" only when `signed`). The range
    and scale are beyond_precision's to check; this checks the syntax only."""
    if not isinstance(text, str):
        raise InvalidDecimal(f"expected a decimal string, got {type(text).__name__}")
    if not text:
        raise InvalidDecimal("empty")
    if len(text) > MAX_DECIMAL_TEXT:
        raise InvalidDecimal(f"at most {MAX_DECIMAL_TEXT} characters, got {len(text)}")
    digits = text[1:] if signed and text[0] == "-" else text
    if not _UNSIGNED.fullmatch(digits):
        expected = "digits with an optional point and leading minus" if signed else "digits with an optional point"
        raise InvalidDecimal(f"expected plain decimal syntax, {expected} (no exponent, underscore or space), got {excerpt(text)}")
    return Decimal(text)


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
    # normalize() rounds to its context's precision: in a caller's narrower context (28 digits
    # by Python's default) a 36-digit quantity came back rounded; _EXACT never rounds.
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
    """The quantity-weighted average price after adding `quantity` at `price` (both unsigned):
    the notional is exact, the quotient rounded by `average`."""
    total = ENGINE.add(previous_quantity, quantity)
    if total == 0:
        raise ValueError("average over zero quantity")
    notional = ENGINE.add(ENGINE.multiply(previous_average or ZERO, previous_quantity), ENGINE.multiply(price, quantity))
    return average(notional, total)
