"""How an error message shows a value it refuses: a short prefix, repr'd, never the whole of it.

A client that sends 3 MiB in a field must not get 3 MiB back, twice (message and detail), nor
metadata larger than its own client accepts (a Python client refuses ~8 KB of trailers at its
default settings). Every message that quotes what a caller sent goes through `excerpt`.
"""

from __future__ import annotations

# Long enough for every identifier the service issues (a UUID order id is 36) to be quoted whole.
EXCERPT_CHARS = 40
# What the quoted prefix may take once repr'd: an unprintable character is up to 10 ('\U0001b2fc').
EXCERPT_REPR_CHARS = 3 * EXCERPT_CHARS


def excerpt(value: object) -> str:
    """repr of `value` when short; else the repr of its first characters (at most EXCERPT_CHARS,
    and at most EXCERPT_REPR_CHARS once repr'd), an ellipsis and the full length:
    'aaaa…' (3145728 characters)."""
    text = value if isinstance(value, str) else str(value)
    prefix = text[:EXCERPT_CHARS]
    while len(repr(prefix)) > EXCERPT_REPR_CHARS:
        prefix = prefix[: len(prefix) * 2 // 3]
    if prefix == text:
        return repr(text)
    return f"{prefix!r}… ({len(text)} characters)"
