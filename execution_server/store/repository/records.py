"""The rows the store hands back that are not domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class StoredPosition:
    strategy_id: str
    symbol: str
    quantity: Decimal
    average_entry_price: Decimal | None
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class StoredKillSwitch:
    engaged: bool
    reason: str
    reduce_only: bool
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredOperatorAction:
    id: int
    at: datetime
    actor: str
    action: str
    details: str  # JSON
