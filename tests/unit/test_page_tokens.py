"""Page tokens: what one key issued reads back; anything else is an InvalidPageToken, never
another error, whatever the text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execution_server.oms.errors import InvalidPageToken
from execution_server.oms.page_tokens import MAX_POSITION, PageTokens

TOKENS = PageTokens(b"k" * 32)
positions = st.integers(min_value=0, max_value=MAX_POSITION)


@given(positions, st.text(max_size=50))
def test_a_token_reads_back_its_position_for_its_filters(position: int, filters: str) -> None:
    assert TOKENS.position(TOKENS.issue(position, filters), filters) == position


@given(positions, st.data())
def test_a_token_changed_anywhere_is_refused(position: int, data: st.DataObject) -> None:
    token = TOKENS.issue(position, "f")
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("AQgw_-.1").filter(lambda c: c != token[index]))
    changed = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(InvalidPageToken):
        TOKENS.position(changed, "f")


@given(st.text(max_size=200) | st.binary(max_size=120).map(lambda b: "1." + b.hex()))
def test_any_other_text_is_an_invalid_page_token(text: str) -> None:
    with pytest.raises(InvalidPageToken):
        TOKENS.position(text, "f")


def test_another_key_or_other_filters_are_refused_saying_what_to_do() -> None:
    token = TOKENS.issue(7, "f")
    with pytest.raises(InvalidPageToken, match="start the listing again"):
        PageTokens().position(token, "f")  # a restarted process: a new random key
    with pytest.raises(InvalidPageToken, match="different filters"):
        TOKENS.position(token, "g")


def test_only_the_issued_spelling_is_accepted() -> None:
    """56 bytes take 75 base64 characters, the last with two spare bits: a decoder ignores them,
    so the same bytes have four spellings; only the one issued is a token."""
    token = TOKENS.issue(7, "f")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    for spare in (1, 2, 3):
        with pytest.raises(InvalidPageToken):
            TOKENS.position(token[:-1] + alphabet[last ^ spare], "f")
