"""parse_decimal reads plain decimal syntax only: what it accepts is exactly ASCII digits with
at most one point (and a leading minus where signed), and it reads that as written."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from execution_server.domain.money import (
    MAX_DECIMAL_TEXT,
    MAX_INTEGER_DIGITS,
    MAX_SCALE,
    InvalidDecimal,
    beyond_precision,
    format_decimal,
    parse_decimal,
)
from execution_server.domain.quoting import EXCERPT_CHARS, EXCERPT_REPR_CHARS, excerpt

PLAIN = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

within_precision = st.decimals(
    min_value=Decimal("-" + "9" * MAX_INTEGER_DIGITS), max_value=Decimal("9" * MAX_INTEGER_DIGITS),
    places=MAX_SCALE, allow_nan=False, allow_infinity=False,
)
decimal_alphabet = st.sampled_from(list("0123456789.-+eE_ \t\n\x00NaIf") + ["١", "１", "٫", "\u00a0", "\u2212"])


@given(within_precision)
def test_every_value_within_precision_reads_back_from_its_canonical_text(value: Decimal) -> None:
    text = format_decimal(value)
    assert parse_decimal(text, signed=True) == value
    assert beyond_precision(parse_decimal(text, signed=True)) == ""


@given(st.text(decimal_alphabet, max_size=20) | st.text(max_size=20))
@example("1e3")
@example("1_000")
@example("١٢")
@example("１０")
@example("NaN")
@example("-Infinity")
def test_only_plain_ascii_decimal_syntax_is_accepted(text: str) -> None:
    try:
        value = parse_decimal(text, signed=True)
    except InvalidDecimal as error:
        assert not PLAIN.fullmatch(text) or len(text) > MAX_DECIMAL_TEXT
        assert len(str(error)) < 150 + EXCERPT_REPR_CHARS  # the explanation, then a bounded excerpt
        return
    assert PLAIN.fullmatch(text) and value == Decimal(text) and value.is_finite()


@given(st.text(decimal_alphabet, max_size=20))
def test_unsigned_reading_refuses_every_sign(text: str) -> None:
    try:
        parse_decimal(text)
    except InvalidDecimal:
        return
    assert "-" not in text and "+" not in text
    assert parse_decimal(text) == parse_decimal(text, signed=True)


def test_a_long_text_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(InvalidDecimal, match="at most 64 characters"):
        parse_decimal("1" * 1_000_000)


@given(st.text(max_size=200))
def test_an_excerpt_is_short_and_shows_the_start(text: str) -> None:
    shown = excerpt(text)
    assert len(shown) <= EXCERPT_REPR_CHARS + 30  # the repr'd prefix, the ellipsis and the length
    if shown == repr(text):
        assert len(text) <= EXCERPT_CHARS
    else:
        assert f"({len(text)} characters)" in shown
        prefix = shown[: shown.rindex("… (")]
        assert text.startswith(eval(prefix))  # a true prefix of what was sent
