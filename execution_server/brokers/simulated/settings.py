"""Configuration of the simulated paper broker: one frozen value, validated when it is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

# Round numbers, for demos only: they let the server price a market order out of the box.
DEFAULT_REFERENCE_PRICES: Mapping[str, Decimal] = MappingProxyType(
    {
        "AAPL": Decimal("190"),
        "AMZN": Decimal("185"),
        "GOOGL": Decimal("170"),
        "MSFT": Decimal("420"),
        "NVDA": Decimal("120"),
        "QQQ": Decimal("480"),
        "SPY": Decimal("550"),
        "TSLA": Decimal("250"),
    }
)


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """Everything the simulated broker can be told. Failure injection is off by default.

    reference_prices / default_price: where a symbol never priced starts, so market orders
        fill out of the box.
    state_path: the broker's own journal; None keeps it in memory only (its orders are then
        forgotten with the process; ids never repeat either way, see facts.order_id_for).
    ack_latency_seconds: delay between accepting (and journaling) an order and acking it.
    reject_fraction / unknown_outcome_fraction: share of submissions refused outright, or
        accepted but answered with SubmissionOutcomeUnknown.
    drop_stream_fraction: chance, per event, that the stream breaks (that event is lost).
    ticker_interval_seconds: move every known price by a seeded random walk (None: off).
    seed / ticker_seed: every random draw is seeded, so a failing run replays exactly.

    Fractions and delays are probabilities and seconds, not money: floats are fine there.
    """

    reference_prices: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_REFERENCE_PRICES)
    default_price: Decimal = Decimal("100")
    state_path: Path | None = None
    starting_cash: Decimal = Decimal("1000000")
    ack_latency_seconds: float = 0.0
    reject_fraction: float = 0.0
    unknown_outcome_fraction: float = 0.0
    drop_stream_fraction: float = 0.0
    ticker_interval_seconds: float | None = None
    ticker_seed: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        for symbol, price in self.reference_prices.items():
            _require_positive_decimal(f"reference price of {symbol}", price)
        _require_positive_decimal("default_price", self.default_price)
        if not isinstance(self.starting_cash, Decimal) or not self.starting_cash.is_finite():
            raise ValueError(f"starting_cash must be a finite Decimal, got {self.starting_cash!r}")
        if self.ack_latency_seconds < 0:
            raise ValueError("ack_latency_seconds must not be negative")
        if self.ticker_interval_seconds is not None and self.ticker_interval_seconds <= 0:
            raise ValueError("ticker_interval_seconds must be positive (None turns the ticker off)")
        for name in ("reject_fraction", "unknown_outcome_fraction", "drop_stream_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.reject_fraction + self.unknown_outcome_fraction > 1.0:
            raise ValueError("reject_fraction + unknown_outcome_fraction must not exceed 1")


def _require_positive_decimal(name: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive Decimal, got {value!r}")
