"""Risk limits: parsed once from the `[risk]` TOML table into immutable, validated values.

The file format, globally, per strategy (a strategy's own key overrides the global one) and
for the account as a whole:

    [risk]
    max_order_quantity = "1000"
    max_order_notional = "250000"
    blocked_symbols = ["GME"]
    price_collar_pct = "5"            # a limit price more than 5 % from the reference price
    max_orders_per_second = 10        # token bucket; order_burst defaults to the rate
    duplicate_window_seconds = 2      # absent: the duplicate guard is off

    [risk.strategies.momentum_v1]
    max_order_quantity = "10"

    [risk.account]
    max_daily_loss = "25000"          # breached: the kill switch is engaged
    max_gross_exposure = "5000000"

Numbers that are money, quantities or percentages are TOML strings or integers, parsed
exactly with Decimal. A TOML float (`max_order_notional = 10000.5`) is refused with an error
naming the key: a binary float has already lost the value the operator wrote. Rates and
durations (`max_orders_per_second`, `duplicate_window_seconds`) are clock arithmetic, not
money, and also accept floats. An unknown key is an error too, because a misspelt limit
silently ignored is a limit that does not exist. A strategy cannot lift a global limit, only
set its own value.

A key absent everywhere takes its safe default (SAFE_DEFAULTS below) if it has one, and
means "no limit" otherwise. `limits = "none"` in the `[risk]` table drops the safe defaults:
only the keys written beside it apply (none at all: no limits). Start-up warns about that,
and TRADING_MODE=LIVE refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from execution_server.config_fields import ConfigError, positive_money
from execution_server.config_sources import read_toml
from execution_server.domain.money import format_decimal


# The safety net against absurd orders (a fat finger, a unit mix-up, a runaway loop), in force
# unless the [risk] table overrides it key by key. Sized so that no ordinary desk order comes
# near it, not as a business limit: one order of 1,000,000 shares is several times a large US
# equity block trade and about 1-5 % of a large cap's daily volume; $10,000,000 in one order
# and $50,000,000 in one symbol per strategy are far past what an algorithm trading through a
# retail-grade API sends, yet stop a quantity typed with extra zeros before it reaches the
# broker. 500 orders per second per strategy (in bursts of as many) is well above what a
# strategy needs and what Alpaca accepts (about 200 requests a minute), and stops a loop that
# resends on every tick. Whoever needs more (the service's own benchmarks run 1,000 orders a
# second) sets the key explicitly.
SAFE_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "max_order_quantity": "1000000",
    "max_order_notional": "10000000",
    "max_position_notional": "50000000",
    "max_orders_per_second": 500,
})

# The `[risk]` key that switches the safe defaults: "default" (the same as leaving it out) or "none".
LIMITS_SWITCH = "limits"
NO_LIMITS = "none"


class RiskLimitsError(ConfigError):
    """The risk configuration does not parse or does not validate; `setting` is the key
    (`risk.strategies.momentum_v1.max_order_notional`). A ConfigError, so that start-up and
    check-config report it like any other setting."""


# --- one small configuration per check ---


@dataclass(frozen=True, slots=True)
class OrderLimits:
    max_quantity: Decimal | None = None
    max_notional: Decimal | None = None
    allowed_symbols: frozenset[str] | None = None  # None: every symbol not blocked
    blocked_symbols: frozenset[str] = frozenset()
    price_collar_pct: Decimal | None = None
    max_open_orders: int | None = None
    max_orders_per_second: float | None = None
    order_burst: int | None = None  # bucket size; None: the rate, at least 1


@dataclass(frozen=True, slots=True)
class PositionLimits:
    """Per symbol: the largest position a fill of every open order on one side could make."""

    max_quantity: Decimal | None = None
    max_notional: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DailyLossLimits:
    max_loss: Decimal | None = None  # a positive amount; P&L of the day below -max_loss breaches


@dataclass(frozen=True, slots=True)
class DuplicateLimits:
    window_seconds: float | None = None  # None: off


@dataclass(frozen=True, slots=True)
class ExposureLimits:
    max_gross: Decimal | None = None
    max_net: Decimal | None = None


@dataclass(frozen=True, slots=True)
class StrategyLimits:
    """Every limit that applies to one strategy's orders, global and override already merged."""

    order: OrderLimits = OrderLimits()
    position: PositionLimits = PositionLimits()
    daily_loss: DailyLossLimits = DailyLossLimits()
    duplicate: DuplicateLimits = DuplicateLimits()
    exposure: ExposureLimits = ExposureLimits()


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """Limits on the account as a whole, across every strategy."""

    position: PositionLimits = PositionLimits()
    daily_loss: DailyLossLimits = DailyLossLimits()
    exposure: ExposureLimits = ExposureLimits()


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits in force. Effective limits per configured strategy are merged once, at
    parse time, so that the order path only does a dictionary lookup."""

    defaults: StrategyLimits = StrategyLimits()
    strategies: Mapping[str, StrategyLimits] = field(default_factory=lambda: MappingProxyType({}))
    account: AccountLimits = AccountLimits()
    # `limits = "none"`: the safe defaults were switched off (start-up warns; LIVE refuses).
    safe_defaults_off: bool = False

    def for_strategy(self, strategy_id: str) -> StrategyLimits:
        return self.strategies.get(strategy_id, self.defaults)

    def effective_limits(self, strategy_id: str = "") -> dict[str, str]:
        """For GetRiskLimits: "check.key" -> value (empty when unset); the global limits
        when strategy_id is empty. Account limits are listed as "check.account_key"."""
        limits = self.for_strategy(strategy_id) if strategy_id else self.defaults
        shown = {f"{spec.check}.{key}": _show(spec.read(limits)) for key, spec in _STRATEGY_KEYS.items()}
        for key, spec in _ACCOUNT_KEYS.items():
            shown[f"{spec.check}.account_{key}"] = _show(spec.read(self.account))
        return shown


# --- the keys: name -> (check, which sub-config and field, how to parse) ---


@dataclass(frozen=True, slots=True)
class _Key:
    check: str
    section: str
    attribute: str
    parse: Callable[[str, Any], Any]

    def read(self, limits: StrategyLimits | AccountLimits) -> Any:
        return getattr(getattr(limits, self.section), self.attribute)


def _positive_decimal(path: str, raw: Any) -> Decimal:
    try:
        return positive_money(raw)  # the one money rule: strings or integers, never floats
    except ValueError as error:
        raise RiskLimitsError(path, str(error)) from None


def _positive_int(path: str, raw: Any) -> int:
    value = _positive_decimal(path, raw)
    if value != value.to_integral_value():
        raise RiskLimitsError(path, f"must be a whole number, got {raw!r}")
    return int(value)


def _positive_seconds(path: str, raw: Any) -> float:
    """Rates and durations are clock arithmetic, not money: a float is fine here."""
    if isinstance(raw, float) and not isinstance(raw, bool):
        if not raw > 0 or raw == float("inf"):
            raise RiskLimitsError(path, f"must be a positive number, got {raw!r}")
        return raw
    return float(_positive_decimal(path, raw))


def _symbols(path: str, raw: Any) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(s, str) and s.strip() for s in raw):
        raise RiskLimitsError(path, 'expected a list of symbols, e.g. ["AAPL", "MSFT"]')
    return frozenset(s.strip().upper() for s in raw)


_STRATEGY_KEYS: Mapping[str, _Key] = {
    "max_order_quantity": _Key("order_limits", "order", "max_quantity", _positive_decimal),
    "max_order_notional": _Key("order_limits", "order", "max_notional", _positive_decimal),
    "allowed_symbols": _Key("order_limits", "order", "allowed_symbols", _symbols),
    "blocked_symbols": _Key("order_limits", "order", "blocked_symbols", _symbols),
    "price_collar_pct": _Key("order_limits", "order", "price_collar_pct", _positive_decimal),
    "max_open_orders": _Key("order_limits", "order", "max_open_orders", _positive_int),
    "max_orders_per_second": _Key("order_limits", "order", "max_orders_per_second", _positive_seconds),
    "order_burst": _Key("order_limits", "order", "order_burst", _positive_int),
    "max_position_quantity": _Key("position", "position", "max_quantity", _positive_decimal),
    "max_position_notional": _Key("position", "position", "max_notional", _positive_decimal),
    "max_daily_loss": _Key("daily_loss", "daily_loss", "max_loss", _positive_decimal),
    "duplicate_window_seconds": _Key("duplicate", "duplicate", "window_seconds", _positive_seconds),
    "max_gross_exposure": _Key("exposure", "exposure", "max_gross", _positive_decimal),
    "max_net_exposure": _Key("exposure", "exposure", "max_net", _positive_decimal),
}

_ACCOUNT_KEYS: Mapping[str, _Key] = {
    key: _STRATEGY_KEYS[key]
    for key in (
        "max_position_quantity",
        "max_position_notional",
        "max_daily_loss",
        "max_gross_exposure",
        "max_net_exposure",
    )
}


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    if isinstance(value, float):
        return format_decimal(Decimal(repr(value)))
    return str(value)


# --- parsing ---


def _parse_table(path: str, table: Any, keys: Mapping[str, _Key]) -> dict[str, Any]:
    """Parse one TOML table into key -> validated value, refusing unknown keys."""
    if not isinstance(table, Mapping):
        raise RiskLimitsError(path, "expected a table")
    parsed: dict[str, Any] = {}
    for key, raw in table.items():
        spec = keys.get(key)
        if spec is None:
            raise RiskLimitsError(f"{path}.{key}", f"unknown risk limit (known: {', '.join(sorted(keys))})")
        parsed[key] = spec.parse(f"{path}.{key}", raw)
    return parsed


def _build(cls: type, parsed: Mapping[str, Any], keys: Mapping[str, _Key], path: str) -> Any:
    """Group parsed keys by their check's sub-config and build the frozen value."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in parsed.items():
        spec = keys[key]
        sections.setdefault(spec.section, {})[spec.attribute] = value
    built = cls(**{name: _SECTION_TYPES[name](**values) for name, values in sections.items()})
    order = getattr(built, "order", None)
    if order is not None and order.order_burst is not None and order.max_orders_per_second is None:
        raise RiskLimitsError(f"{path}.order_burst", "needs max_orders_per_second")
    return built


_SECTION_TYPES: Mapping[str, type] = {
    "order": OrderLimits,
    "position": PositionLimits,
    "daily_loss": DailyLossLimits,
    "duplicate": DuplicateLimits,
    "exposure": ExposureLimits,
}


def _safe_defaults_off(table: dict[str, Any]) -> bool:
    """Pop the `limits` switch: True for "none", False for "default" or absent."""
    switch = table.pop(LIMITS_SWITCH, "default")
    if switch not in ("default", NO_LIMITS):
        raise RiskLimitsError(f"risk.{LIMITS_SWITCH}", f'expected "default" or "{NO_LIMITS}"')
    return switch == NO_LIMITS


def parse_risk_limits(risk_table: Mapping[str, Any] | None) -> RiskLimits:
    """Build RiskLimits from the already-loaded `[risk]` table, over the safe defaults unless
    it says `limits = "none"` (None or empty: the safe defaults alone). Raises RiskLimitsError
    naming the first offending key."""
    table = dict(risk_table or {})
    defaults_off = _safe_defaults_off(table)
    if not defaults_off:
        table = {**SAFE_DEFAULTS, **table}
    strategies_table = table.pop("strategies", {})
    account_table = table.pop("account", {})
    global_parsed = _parse_table("risk", table, _STRATEGY_KEYS)
    defaults = _build(StrategyLimits, global_parsed, _STRATEGY_KEYS, "risk")
    if not isinstance(strategies_table, Mapping):
        raise RiskLimitsError("risk.strategies", "expected a table of strategy tables")
    strategies: dict[str, StrategyLimits] = {}
    for strategy_id, own in strategies_table.items():
        path = f"risk.strategies.{strategy_id}"
        merged = {**global_parsed, **_parse_table(path, own, _STRATEGY_KEYS)}
        strategies[strategy_id] = _build(StrategyLimits, merged, _STRATEGY_KEYS, path)
    account_parsed = _parse_table("risk.account", account_table, _ACCOUNT_KEYS)
    account = _build(AccountLimits, account_parsed, _ACCOUNT_KEYS, "risk.account")
    return RiskLimits(
        defaults=defaults, strategies=MappingProxyType(strategies), account=account, safe_defaults_off=defaults_off
    )


def refuse_unsafe_limits(risk_table: Mapping[str, Any] | None, trading_mode: str) -> RiskLimits:
    """Parse the `[risk]` table as start-up does: LIVE trading with the safe defaults switched
    off is refused, naming `risk.limits`, since real money then has no bound at all."""
    limits = parse_risk_limits(risk_table)
    refuse_if_live_without_defaults(limits, trading_mode)
    return limits


def refuse_if_live_without_defaults(limits: RiskLimits, trading_mode: str) -> None:
    if limits.safe_defaults_off and trading_mode == "LIVE":
        raise RiskLimitsError(
            f"risk.{LIMITS_SWITCH}", f'"{NO_LIMITS}" is refused with TRADING_MODE=LIVE: live trading needs risk limits'
        )


def load_risk_limits_file(path: str | Path) -> RiskLimits:
    """Read the service's TOML config file and parse its `[risk]` table. Any failure (missing
    file, bad TOML, bad limit) is a RiskLimitsError, so that a reload on SIGHUP can log it and
    keep the limits already in force. The file is read the way start-up reads it."""
    try:
        document = read_toml(path)
    except ConfigError as error:
        raise RiskLimitsError(error.setting, error.problem) from error
    try:
        return parse_risk_limits(document.get("risk"))
    except RiskLimitsError as error:
        raise RiskLimitsError(error.setting, f"{error.problem} (in {path})") from error


__all__ = [
    "AccountLimits",
    "DailyLossLimits",
    "DuplicateLimits",
    "ExposureLimits",
    "OrderLimits",
    "PositionLimits",
    "RiskLimits",
    "RiskLimitsError",
    "SAFE_DEFAULTS",
    "StrategyLimits",
    "load_risk_limits_file",
    "parse_risk_limits",
    "refuse_if_live_without_defaults",
    "refuse_unsafe_limits",
]
