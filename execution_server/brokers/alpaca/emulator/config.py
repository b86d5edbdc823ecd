"""The emulator's fixed settings, chosen when it starts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Statuses a POST /v2/orders reply may carry (ALPACA_API.md §5.4: real replies show all three).
SUBMIT_STATUSES = ("pending_new", "accepted", "new")


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Keys, the starting account and the opt-in strictness of the emulated broker."""

    key: str = "KEY"
    secret: str = "SECRET"
    starting_cash: Decimal = Decimal("100000")
    default_price: Decimal = Decimal("100")  # a symbol nobody priced trades here
    submit_status: str = "pending_new"
    market_open: bool = True
    strict_stream: bool = False  # a second authenticated stream gets HTTP 429 on the upgrade
    rate_limit_per_minute: int | None = None  # Alpaca's is 200; None: unlimited
    stream_path: str = "/stream"

    def __post_init__(self) -> None:
        if self.submit_status not in SUBMIT_STATUSES:
            raise ValueError(f"submit_status must be one of {SUBMIT_STATUSES}, not {self.submit_status!r}")
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute < 1:
            raise ValueError("rate_limit_per_minute must be positive")
