"""How an error message shows a value it refuses: a short prefix, repr'd, never the whole of it.

A client that sends 3 MiB in a field must not get 3 MiB back, twice (message and detail), nor
metadata larger than its own client accepts (a Python client refuses ~8 KB of trailers at its
default settings). Every message that quotes what a caller sent goes through `excerpt`.
"""

from __future__ import annotations

# Long enough for every identifier the service issues (a UUID order id is 36) to be quoted whole.
EXCERPT_CHARS = 40


def excerpt(value: object) -> str:
    """repr of `value` when short; else the repr of its first EXCERPT_CHARS characters, an
    ellipsis and the full length: 'aaaa…' (3145728 characters)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= EXCERPT_CHARS:
        return repr(text)
    return f"{text[:EXCERPT_CHARS]!r}… ({len(text)} characters)"
