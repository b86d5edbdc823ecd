"""What the service answers, as frozen dataclasses: Decimal for money and quantities, aware UTC
datetimes for timestamps, and enum values as their short names ("FILLED", "BUY")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    client_order_id: str
    broker_order_id: str  # "" until the broker acknowledged it
    strategy_id: str
    symbol: str
    side: str  # "BUY", "SELL"
    order_type: str  # "MARKET", "LIMIT", "STOP", "STOP_LIMIT"
    time_in_force: str  # "DAY", "GTC", "IOC", "FOK"
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    status: str  # "PENDING", "SUBMITTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED"
    filled_quantity: Decimal
    average_fill_price: Decimal | None  # None before the first fill
    reject_reason: str
    created_at: datetime
    updated_at: datetime
    broker_status: str
    in_flight: bool
    cancel_reason: str

    @property
    def is_open(self) -> bool:
        """Still able to fill: not FILLED, CANCELLED or REJECTED."""
        return self.status not in ("FILLED", "CANCELLED", "REJECTED")


@dataclass(frozen=True, slots=True)
class Fill:
    execution_id: str
    quantity: Decimal
    price: Decimal
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One change of one order, numbered by the service (`sequence`: increasing, not consecutive)."""

    sequence: int
    order: Order | None
    fill: Fill | None  # set when the change is a fill
    time: datetime
    event_type: str  # "placed", "submitted", "rejected", "fill", "cancelled", "cancel_requested", ...
    detail: str


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    quantity: Decimal
    average_entry_price: Decimal | None
    realized_pnl: Decimal
    strategy_id: str  # "" for the account's position


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: str  # "POSITION_QUANTITY", "ORDER_STATUS", ...
    symbol: str
    local_quantity: str  # as the service reports it; "" when the kind has none
    broker_quantity: str
    order_id: str
    detail: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    has_discrepancies: bool
    discrepancies: tuple[Discrepancy, ...]
    checked_at: datetime
    run_id: int
    unresolved: tuple[Discrepancy, ...]  # what a repair left as it was
    trigger: str
    repair: bool


@dataclass(frozen=True, slots=True)
class Account:
    cash: Decimal
    buying_power: Decimal
    equity: Decimal


@dataclass(frozen=True, slots=True)
class RiskStatus:
    kill_switch_engaged: bool
    kill_switch_reason: str
    trading_state: str  # "ACTIVE", "REDUCING", "HALTED"
    reducing_strategies: dict[str, str]  # strategy → why it is reduce-only


@dataclass(frozen=True, slots=True)
class CancelFailure:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class KillSwitchResult:
    kill_switch_engaged: bool
    kill_switch_reason: str
    trading_state: str
    cancelled_order_ids: tuple[str, ...]
    cancel_failures: tuple[CancelFailure, ...]


@dataclass(frozen=True, slots=True)
class RiskLimits:
    limits: dict[str, Decimal | None]  # "check.limit" → value; None when unset
    strategy_id: str


@dataclass(frozen=True, slots=True)
class OperatorAction:
    id: int
    actor: str
    action: str
    details_json: str
    at: datetime

    @property
    def details(self) -> Any:
        return json.loads(self.details_json) if self.details_json else None


@dataclass(frozen=True, slots=True)
class PriceSet:
    """SimulatorService.SetPrice's answer: the price in force and how many fills it caused."""

    symbol: str
    price: Decimal
    fills: int
