"""Configuration of the simulated paper broker: one frozen value, validated when it is built,
with the same field rules as the service's [simulator] section (config_fields), so that a value
the service accepts is one the broker accepts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, model_validator
from pydantic.dataclasses import dataclass

from execution_server.config_fields import (
    Fraction,
    NonNegativeSeconds,
    PositiveMoney,
    check_outcomes,
    money,
    positive_seconds,
)

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


@dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid", arbitrary_types_allowed=True))
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

    reference_prices: Mapping[str, PositiveMoney] = dataclasses.field(default_factory=lambda: DEFAULT_REFERENCE_PRICES)
    default_price: PositiveMoney = Decimal("100")
    state_path: Path | None = None
    starting_cash: Annotated[Decimal, BeforeValidator(money)] = Decimal("1000000")
    ack_latency_seconds: NonNegativeSeconds = 0.0
    reject_fraction: Fraction = 0.0
    unknown_outcome_fraction: Fraction = 0.0
    drop_stream_fraction: Fraction = 0.0
    ticker_interval_seconds: Annotated[float | None, BeforeValidator(lambda v: None if v is None else positive_seconds(v))] = None
    ticker_seed: int = 0
    seed: int = 0

    @model_validator(mode="after")
    def _outcomes_add_up(self) -> SimulatorSettings:
        check_outcomes(self.reject_fraction, self.unknown_outcome_fraction)
        return self
