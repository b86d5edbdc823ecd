"""The wire format: decimals as strings, RFC 3339 UTC timestamps with microseconds and `Z`,
request bodies parsed with every number as a Decimal, and Alpaca's error bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# Alpaca's error codes as seen in its replies (ALPACA_API.md §3.5).
VALIDATION = 40010001
FORBIDDEN = 40310000
NOT_FOUND = 40410000
UNPROCESSABLE = 42210000


class ApiError(Exception):
    """An HTTP error reply: the status and the JSON body Alpaca would send."""

    def __init__(self, status: int, message: str, code: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = ({"code": code} if code is not None else {}) | {"message": message} | extra


def invalid(message: str) -> ApiError:
    return ApiError(422, message, VALIDATION)


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decimal_text(value: Decimal | None) -> str | None:
    """`Decimal("10.0")` → `"10"`: never an exponent, no trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def parse_body(body: bytes) -> Any:
    """JSON with floats as Decimal: alpaca-py sends prices and quantities as JSON floats."""
    if not body:
        return {}
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(f"request body is not JSON: {error}") from None


def to_decimal(name: str, value: Any) -> Decimal | None:
    """A JSON number (int or Decimal) or a numeric string, as Decimal; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise invalid(f"{name} must be a number")
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise invalid(f"invalid {name}: {value!r}") from None
    else:
        raise invalid(f"{name} must be a number")
    if not number.is_finite():
        raise invalid(f"invalid {name}: {value!r}")
    return number


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=_default).encode()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return timestamp(value)
    raise TypeError(f"cannot encode {type(value).__name__}")
