"""The request budget: Alpaca allows 200 REST requests a minute per key, then answers 429.

ServerBudget reads what Alpaca says of it (X-Ratelimit-* headers, on every answer and on a 429).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerBudget:
    """Alpaca's own count: `remaining` requests until `reset_at` (epoch seconds, wall clock).
    None where a header is missing or unreadable: headers are advice, never a reason to fail."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ServerBudget:
        # requests' headers are case-insensitive; a plain dict from a test may not be.
        lowered = {str(key).lower(): value for key, value in headers.items()}
        return cls(
            limit=_int(lowered.get("x-ratelimit-limit")),
            remaining=_int(lowered.get("x-ratelimit-remaining")),
            reset_at=_number(lowered.get("x-ratelimit-reset")),
        )


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None


def _number(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None
