"""What a refused order gets back: a RiskDenial, and the wording every check shares.

A denial's reason starts with a code a machine can match on (`MAX_ORDER_QUANTITY: ...`) and
goes on in words a person understands; `limit` and `value` are the limit and the value that
broke it, as text, for logs and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from execution_server.domain.money import format_decimal

if TYPE_CHECKING:
    from execution_server.risk.check_context import CheckContext


@dataclass(frozen=True, slots=True)
class RiskDenial:
    """Why an order may not go to the broker. `reason` starts with `code`; `limit` and
    `value` are the limit and the value that broke it, as text, for logs and metrics."""

    check: str
    code: str
    limit: str
    value: str
    reason: str
    limit_key: str = ""

    def __str__(self) -> str:
        return self.reason


def deny(check: str, code: str, key: str, limit: object, value: object, text: str) -> RiskDenial:
    return RiskDenial(check, code, as_text(limit), as_text(value), f"{code}: {text}", key)


def as_text(value: object) -> str:
    return format_decimal(value) if isinstance(value, Decimal) else str(value)


def rate_text(rate: float) -> str:
    """A rate or a duration (a float: clock arithmetic, not money) as the operator wrote it."""
    return format_decimal(Decimal(repr(rate)))


def bound_text(name: str, value: object, relation: str = "≤") -> str:
    return f"{name} unlimited" if value is None else f"{name} {relation} {as_text(value)}"


def scope_names(ctx: CheckContext, account: bool) -> tuple[str, str]:
    """How a denial names the scope of a limit, in words and in its key."""
    return ("account", "account_") if account else (f"strategy {ctx.spec.strategy_id}", "")


def no_reference_price(check: str, ctx: CheckContext, key: str) -> RiskDenial:
    symbol = ctx.spec.symbol
    return deny(check, "NO_REFERENCE_PRICE", key, "", "",
                f"no reference price for {symbol}, so the notional of this "
                f"{ctx.spec.order_type.value.lower()} order cannot be checked against {key}")
