"""OrderRequest: an order as a Python caller writes it, checked, on its way to the domain's OrderSpec.

The library's edge, as api/validation.py is the gRPC one, with the same rules (domain.identifiers,
domain.money): a request the server would refuse is refused here, naming every bad field at
once. It takes the spellings Python users already write: "BUY", "buy", our enums, and alpaca-py's
(OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, str enums whose strings are "buy", "market",
"day"). A quantity or price is an int, a plain decimal str or a Decimal; a float is refused, not
rounded: 0.1 as a float is 0.1000000000000000055511151231257827…, and which decimal was meant
is the caller's to say.

No gRPC and no generated code here (the import-linter contract says so): embedding the engine
needs neither.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from execution_server.domain.identifiers import IDENTIFIER, SYMBOL
from execution_server.domain.money import InvalidDecimal, beyond_precision, parse_decimal
from execution_server.domain.orders import LIMIT_PRICED, STOP_PRICED, OrderSpec, OrderType, Side, TimeInForce
from execution_server.domain.quoting import excerpt

__all__ = ["InvalidOrderRequest", "OrderRequest"]


class InvalidOrderRequest(ValueError):
    """One or more fields of an OrderRequest are wrong; `violations` holds (field, problem) pairs."""

    def __init__(self, violations: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in violations))
        self.violations = list(violations)


@dataclass(frozen=True, slots=True, init=False)
class OrderRequest:
    """A new order, validated when it is built: every attribute holds the checked value (enums,
    Decimals, the symbol in upper case, a client order id generated when none was given).

    OrderRequest(symbol="AAPL", side="BUY", quantity=10, order_type="MARKET", strategy_id="momentum_v1")
    """

    symbol: str
    side: Side
    quantity: Decimal
    strategy_id: str
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str

    def __init__(
        self,
        *,
        symbol: str,
        side: Side | str,
        quantity: int | str | Decimal,
        strategy_id: str,
        order_type: OrderType | str = OrderType.MARKET,
        time_in_force: TimeInForce | str = TimeInForce.DAY,
        limit_price: int | str | Decimal | None = None,
        stop_price: int | str | Decimal | None = None,
        client_order_id: str | None = None,
    ) -> None:
        problems: list[tuple[str, str]] = []
        checked = {
            "symbol": _symbol(problems, symbol),
            "side": _member(problems, "side", Side, side),
            "quantity": _amount(problems, "quantity", quantity, required=True),
            "strategy_id": _identifier(problems, "strategy_id", strategy_id, required=True),
            "order_type": _member(problems, "order_type", OrderType, order_type),
            "time_in_force": _member(problems, "time_in_force", TimeInForce, time_in_force),
            "limit_price": _amount(problems, "limit_price", limit_price, required=False),
            "stop_price": _amount(problems, "stop_price", stop_price, required=False),
            "client_order_id": _identifier(problems, "client_order_id", client_order_id, required=False)
            or str(uuid.uuid4()),
        }
        if isinstance(checked["order_type"], OrderType):
            _check_prices(problems, checked["order_type"], limit_price, stop_price)
        if problems:
            raise InvalidOrderRequest(problems)
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # frozen: set once, here

    def to_order_spec(self) -> OrderSpec:
        """The domain's value of this request, what the OMS and every broker adapter take."""
        return OrderSpec(
            client_order_id=self.client_order_id,
            strategy_id=self.strategy_id,
            symbol=self.symbol,
            side=self.side,
            quantity=self.quantity,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
        )


def _symbol(problems: list[tuple[str, str]], value: object) -> str | None:
    if isinstance(value, str) and SYMBOL.fullmatch(value):
        return value.upper()  # "brk.b" is BRK.B, as at the gRPC edge
    problems.append(("symbol", f"expected a ticker such as AAPL or BRK.B, got {_shown(value)}"))
    return None


def _identifier(problems: list[tuple[str, str]], field: str, value: object, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            problems.append((field, "required: 1 to 128 printable ASCII characters without spaces"))
        return None
    if isinstance(value, str) and IDENTIFIER.fullmatch(value):
        return value
    problems.append((field, f"expected 1 to 128 printable ASCII characters without spaces, got {_shown(value)}"))
    return None


def _member(problems: list[tuple[str, str]], field: str, kind: type[enum.Enum], value: object) -> Any:
    """Our enum, or its name in any case, or any enum whose value is one (alpaca-py's)."""
    if isinstance(value, kind):
        return value
    text = value.value if isinstance(value, enum.Enum) else value
    if isinstance(text, str):
        try:
            return kind(text.strip().upper())
        except ValueError:
            pass
    accepted = ", ".join(member.value for member in kind)
    problems.append((field, f"expected one of {accepted} (any case), got {_shown(value)}"))
    return None


def _amount(problems: list[tuple[str, str]], field: str, value: object, *, required: bool) -> Decimal | None:
    if value is None or value == "":
        if required:
            problems.append((field, 'required: a positive int, decimal string or Decimal such as 10, "0.5"'))
        return None
    if isinstance(value, float):
        problems.append((field, f'a float is not accepted (it is binary, {value!r} is not exactly a decimal): '
                                f'pass a str or Decimal such as "{value!r}"'))
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        problems.append((field, f"expected an int, str or Decimal, got {type(value).__name__}"))
        return None
    try:
        amount = parse_decimal(value if isinstance(value, str) else _plain(value), signed=True)
    except InvalidDecimal as error:
        problems.append((field, f"expected a decimal: {error}"))
        return None
    if amount <= 0:
        problems.append((field, f"must be positive, got {_shown(value)}"))
        return None
    beyond = beyond_precision(amount)
    if beyond:
        problems.append((field, f"{beyond}, got {_shown(value)}"))
        return None
    return amount


def _plain(value: int | Decimal) -> str:
    """An int's or a finite Decimal's plain text, for the same syntax check as a str's; NaN,
    infinity and absurd exponents come back as text that check refuses."""
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) <= 64:
        return format(value, "f")
    return str(value)


def _check_prices(problems: list[tuple[str, str]], order_type: OrderType, limit_price: object, stop_price: object) -> None:
    for field, given, needed in (
        ("limit_price", limit_price, order_type in LIMIT_PRICED),
        ("stop_price", stop_price, order_type in STOP_PRICED),
    ):
        present = given is not None and given != ""
        if needed and not present:
            problems.append((field, f"required for {order_type.value} orders"))
        elif present and not needed:
            problems.append((field, f"not allowed on {order_type.value} orders"))


def _shown(value: object) -> str:
    return excerpt(value)
