"""One typed settings model, read from the environment and an optional TOML file, validated at
start-up. An invalid setting stops start-up with one line naming it; secrets are never printed.

The sections are frozen pydantic dataclasses (so `dataclasses.replace` copies them, validated
again); Settings is a pydantic-settings model whose sources (config_sources.py) are the
environment over the file. Built in code, `Settings(...)` takes only its keyword arguments:
tests and tools never pick up the process's environment by accident."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic.dataclasses import dataclass
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from execution_server.config_fields import (
    SECRET,
    AlpacaUrl,
    AlpacaDataUrl,
    AlpacaStreamUrl,
    ClockTime,
    ConfigError,
    DatabaseUrl,
    Fraction,
    NonNegativeSeconds,
    PositiveMoney,
    PositiveSeconds,
    StatePath,
    check_outcomes,
    mask_url_password,
    url_kind,
    money,
    positive_seconds,
)
from execution_server.brokers.alpaca.hosts import DATA_URL, LIVE_URL, PAPER_URL, stream_url_for
from execution_server.config_sources import EnvironmentSource, TomlFileSource, config_error
from execution_server.config_transport import ServerLimits, TlsConfig
from execution_server.domain.money import format_decimal

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/execution.db"
DEFAULT_GRPC_ADDRESS = "127.0.0.1:50051"

__all__ = [
    "ConfigError", "MetricsConfig", "ReconcileConfig", "ServerLimits", "Settings", "SimulatorConfig", "StreamConfig", "TlsConfig",
    "load_settings", "mask_url_password", "replace",
]

_SECTION = ConfigDict(extra="forbid")


def _optional_positive_seconds(value: Any) -> float | None:
    return None if value is None else positive_seconds(value)


def _optional_count(value: Any) -> int | None:
    if value in (None, 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number, at least 1 (leave it out to keep everything), got {value!r}")
    return value


@dataclass(frozen=True, slots=True, config=_SECTION)
class SimulatorConfig:
    # Prices configured here are added to (or replace) the simulator's built-in ones.
    reference_prices: Mapping[str, PositiveMoney] = dataclasses.field(default_factory=dict)
    default_price: PositiveMoney = Decimal("100")
    # Where the simulated broker keeps its state across restarts; None: memory only.
    state_path: StatePath = Path("./var/simulator.jsonl")
    ack_latency_seconds: NonNegativeSeconds = 0.0
    reject_fraction: Fraction = 0.0
    unknown_outcome_fraction: Fraction = 0.0
    ticker_interval_seconds: Annotated[float | None, BeforeValidator(_optional_positive_seconds)] = None
    seed: int = 0
    starting_cash: Annotated[Decimal, BeforeValidator(money)] = Decimal("1000000")
    # The simulated session's close, "HH:MM" UTC: open DAY orders expire then, every day.
    # None: only SimulatorService.CloseSession ends the session.
    session_close_utc: ClockTime = None

    @model_validator(mode="after")
    def _outcomes_add_up(self) -> SimulatorConfig:
        check_outcomes(self.reject_fraction, self.unknown_outcome_fraction)
        return self

    @property
    def effective_reference_prices(self) -> dict[str, Decimal]:
        """What the simulator starts each symbol at: its built-in prices, then these."""
        from execution_server.brokers.simulated.settings import DEFAULT_REFERENCE_PRICES

        return {**DEFAULT_REFERENCE_PRICES, **self.reference_prices}


@dataclass(frozen=True, slots=True, config=_SECTION)
class ReconcileConfig:
    interval_seconds: PositiveSeconds = 60.0
    # Adopt the broker's truth automatically after each automatic run.
    auto_repair: bool = True
    halt_on_unexplained: bool = False
    history: Annotated[int, Field(ge=1)] = 100


@dataclass(frozen=True, slots=True, config=_SECTION)
class StreamConfig:
    window_size: Annotated[int, Field(ge=1)] = 10_000
    # Oldest events to keep in the log; None (or 0): keep everything.
    retention_events: Annotated[int | None, BeforeValidator(_optional_count)] = None
    # The shortest time between two messages of one StreamOrderUpdateBatches subscriber at the
    # live edge: what arrives meanwhile travels in the next message. Bounds the messages a
    # busy service sends (each costs far more CPU than its bytes); 0 sends at every commit.
    batch_interval_seconds: Annotated[NonNegativeSeconds, Field(le=1)] = 0.005
    # How many stream messages of subscribers that are behind may be in flight at once (they
    # take turns): bounds what catching-up readers queue on the event loop ahead of orders. A
    # send stalled on its client for 20 ms gives its slot up (api/send_slots.py).
    catch_up_send_slots: Annotated[int, Field(ge=1)] = 16
    # While orders flow, the share of each 10 ms that subscribers that are behind may send in
    # (all of it while nothing is committed): what a replay or a reader that never reads may take
    # from live work (api/catch_up_pace.py). 1 turns the pace off.
    catch_up_share: Annotated[float, Field(gt=0, le=1)] = 0.1


def _metrics_address(value: Any) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected host:port (such as 127.0.0.1:9464), got {text[:64]!r}")
    return text


@dataclass(frozen=True, slots=True, config=_SECTION)
class MetricsConfig:
    # Where Prometheus scrapes /metrics, host:port; None (the default): no endpoint, no port.
    address: Annotated[str | None, BeforeValidator(_metrics_address)] = None

    @property
    def enabled(self) -> bool:
        return self.address is not None


ENV_NAMES = {"grpc_address": "EXECUTION_GRPC_ADDRESS", "broker": "EXECUTION_BROKER",
             "database_url": "EXECUTION_DATABASE_URL", "trading_mode": "TRADING_MODE",
             "alpaca_api_key": "ALPACA_API_KEY", "alpaca_secret_key": "ALPACA_SECRET_KEY",
             "alpaca_base_url": "ALPACA_BASE_URL", "alpaca_stream_url": "ALPACA_STREAM_URL",
             "alpaca_data_url": "ALPACA_DATA_URL", "migrate_on_start": "EXECUTION_MIGRATE_ON_START"}


def _grpc_address(value: Any) -> str:
    text = str(value).strip()
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError("EXECUTION_GRPC_ADDRESS", f"expected host:port, got {text!r}")
    return text


def _one_of(setting: str, *choices: str) -> BeforeValidator:
    def check(value: Any) -> str:
        if value not in choices:
            raise ConfigError(setting, f"expected {' or '.join(repr(c) for c in choices)}, got {value!r}")
        return value

    return BeforeValidator(check)


def _choice(*choices: str, upper: bool = False) -> BeforeValidator:
    """One of `choices`; refused with a ValueError, so that the error names the setting as the
    user wrote it (the variable or the file's key)."""

    def check(value: Any) -> str:
        text = value.strip().upper() if upper and isinstance(value, str) else value
        if text not in choices:
            raise ValueError(f"expected {' or '.join(repr(c) for c in choices)}, got {str(value)[:64]!r}")
        return text

    return BeforeValidator(check)


class Settings(BaseSettings):
    """Every setting of the service. Field names are the [server] keys of the file."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    grpc_address: Annotated[str, BeforeValidator(_grpc_address)] = DEFAULT_GRPC_ADDRESS
    broker: Annotated[str, _one_of("EXECUTION_BROKER", "simulated", "alpaca")] = "simulated"
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    trading_mode: str = "PAPER"
    # Alpaca's: from ALPACA_* or the file's [alpaca] table (api_key, secret_key, base_url, ...).
    # Secrets: never in the repr (a log line or an assertion message that shows the settings).
    alpaca_api_key: str = Field(default="", repr=False)
    alpaca_secret_key: str = Field(default="", repr=False)
    alpaca_base_url: AlpacaUrl = PAPER_URL
    # Empty: derived from the base URL (effective_alpaca_stream_url), as Alpaca's own are.
    alpaca_stream_url: AlpacaStreamUrl = ""
    alpaca_data_url: AlpacaDataUrl = DATA_URL
    config_path: Path | None = None
    migrate_on_start: bool = True
    log_level: str = "INFO"
    # "text" for a terminal, "json" for a log collector: one object per line (observability/logs.py).
    log_format: Annotated[str, _choice("text", "json")] = "text"
    # One INFO line per committed order event (placed, submitted, filled, cancelled, rejected,
    # repaired), from the logger execution_server.orders (observability/order_events.py).
    log_order_events: bool = True
    # SQLite's PRAGMA synchronous, with WAL: NORMAL survives a crash of the process, not of the
    # machine (an OS crash or power loss may lose the last commits); FULL syncs every commit and
    # survives power loss too. PostgreSQL keeps its own settings (synchronous_commit).
    sqlite_synchronous: Annotated[str, _choice("NORMAL", "FULL", upper=True)] = "NORMAL"
    grace_seconds: NonNegativeSeconds = 5.0
    # How long CancelOrder waits for the broker's confirmation before answering with the order as it is.
    cancel_wait_seconds: NonNegativeSeconds = 1.0
    # How long PlaceOrder waits for the broker to acknowledge a submission; after that the outcome
    # is unknown: the order stays PENDING (in flight) and is looked up by client order id.
    submit_timeout_seconds: PositiveSeconds = 10.0
    # A connection without traffic this long is pinged: long-lived streams then survive proxies
    # and NATs that drop idle connections (often after 30 to 60 s).
    keepalive_seconds: Annotated[PositiveSeconds, Field(ge=0.1, le=3600)] = 20.0
    # [server.tls] and [server.limits] (config_transport.py): TLS or mTLS, and what a connection may take.
    tls: TlsConfig = Field(default_factory=TlsConfig)
    limits: ServerLimits = Field(default_factory=ServerLimits)
    # While the broker's event stream is down, new orders are accepted (default: fills come back
    # through recovery over REST and reconciliation) or, with this, rejected as BROKER_STREAM_DOWN.
    reject_orders_while_stream_down: bool = False
    # How long an unknown submission outcome is looked up by client order id before it is left to reconciliation.
    settle_attempts: Annotated[int, Field(ge=1)] = 5
    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    stream: StreamConfig = Field(default_factory=StreamConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    # The [risk] table of the config file, parsed (and refused key by key) by risk.limits.
    risk: Mapping[str, Any] = Field(default_factory=dict)
    # The [auth] table (tokens as SHA-256 hashes), parsed and refused key by key by auth.tokens.
    auth: Mapping[str, Any] = Field(default_factory=dict)
    # gRPC server reflection (grpcurl without the protos); false: not served at all.
    reflection: bool = True

    def __init__(self, **values: Any) -> None:
        built = values.get("_build_sources")
        sources = built[0] if built else ()
        try:
            super().__init__(**values)
        except ValidationError as error:
            refused = config_error(error, type(self), lambda location: _name_of(location, sources))
        else:
            return
        # Raised outside the handler, so that it has no __context__: pydantic's error holds the
        # values it was given, secrets among them, and a tool that reports chained exceptions
        # would print them.
        raise refused

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Built in code: exactly the keyword arguments. load_settings passes its own sources.
        return (init_settings,)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.trading_mode not in ("PAPER", "LIVE"):
            raise ConfigError("TRADING_MODE", f"expected PAPER or LIVE, got {self.trading_mode!r}")
        if self.broker == "alpaca":
            _validate_alpaca(self)
        elif self.trading_mode == "LIVE":
            raise ConfigError("TRADING_MODE", "LIVE needs EXECUTION_BROKER=alpaca; the simulated broker is paper only")
        from execution_server.risk.limits import refuse_unsafe_limits

        refuse_unsafe_limits(self.risk, self.trading_mode)  # a RiskLimitsError is a ConfigError naming the key
        if self.auth:
            from execution_server.auth.tokens import parse_auth

            parse_auth(self.auth)  # an AuthConfigError is a ConfigError naming the key
        return self

    def broker_description(self) -> str:
        """The broker for the start-up line: its name, and for Alpaca its mode and base URL;
        never the keys."""
        if self.broker == "alpaca":
            return f"alpaca {self.trading_mode} at {self.alpaca_base_url}"
        return self.broker

    def masked(self) -> dict[str, Any]:
        """Every setting as JSON values (sections as objects, Decimals as strings), for
        check-config and the start-up log, with secrets masked and the simulator's effective
        reference prices (its built-in ones included) beside the configured ones."""
        shown = self.model_dump(mode="json")
        for secret in ("alpaca_api_key", "alpaca_secret_key"):
            shown[secret] = SECRET if shown[secret] else ""
        shown["database_url"] = mask_url_password(self.database_url)
        for token in shown["auth"].get("tokens", ()):  # a weak token's hash can be guessed
            token["sha256"] = SECRET
        shown["effective_alpaca_stream_url"] = self.effective_alpaca_stream_url
        shown["effective_risk_limits"] = _effective_risk_limits(self.risk)
        shown["simulator"]["effective_reference_prices"] = {
            symbol: format_decimal(price) for symbol, price in sorted(self.simulator.effective_reference_prices.items())
        }
        return shown

    @property
    def effective_alpaca_stream_url(self) -> str:
        """The trade_updates websocket: as configured, or the base URL's host with https→wss,
        http→ws and the path /stream (Alpaca's own pairs: paper-api…/stream, api…/stream)."""
        return self.alpaca_stream_url or stream_url_for(self.alpaca_base_url)


def _effective_risk_limits(risk: Mapping[str, Any]) -> dict[str, Any]:
    """The limits in force, safe defaults included, as GetRiskLimits shows them: globally and
    for each strategy the file names."""
    from execution_server.risk.limits import parse_risk_limits

    limits = parse_risk_limits(risk)
    return {
        "global": limits.effective_limits(),
        "strategies": {strategy_id: limits.effective_limits(strategy_id) for strategy_id in sorted(limits.strategies)},
        "safe_defaults_off": limits.safe_defaults_off,
    }


# Which URLs each mode may trade on. A loopback URL is the emulator, never a real account: paper.
_MODE_KINDS = {"PAPER": ("paper", "loopback"), "LIVE": ("live",)}


def _validate_alpaca(settings: Settings) -> None:
    if not settings.alpaca_api_key:
        raise ConfigError("ALPACA_API_KEY", "required when EXECUTION_BROKER=alpaca")
    if not settings.alpaca_secret_key:
        raise ConfigError("ALPACA_SECRET_KEY", "required when EXECUTION_BROKER=alpaca")
    mode, url = settings.trading_mode, settings.alpaca_base_url
    kind = url_kind(url)
    if kind == "other":
        raise ConfigError("ALPACA_BASE_URL", f"{url} is neither Alpaca's paper URL ({PAPER_URL}), its live URL ({LIVE_URL}) nor a loopback one")
    if kind not in _MODE_KINDS[mode]:
        described = "the live base URL" if kind == "live" else "a paper base URL" + (" (loopback counts as paper)" if kind == "loopback" else "")
        raise ConfigError("TRADING_MODE", f"{mode} with {described} (ALPACA_BASE_URL={url})")
    # The stream must be the same account's: REST on paper and events from live (or the
    # reverse) would book one account's fills against the other's orders.
    stream = settings.effective_alpaca_stream_url
    if url_kind(stream) not in _MODE_KINDS[mode]:
        raise ConfigError("ALPACA_STREAM_URL", f"{stream} is not a {mode.lower()} stream URL, as ALPACA_BASE_URL={url} is")


def _name_of(location: tuple[str, ...], sources: tuple[Any, ...]) -> str:
    """The name the user wrote the setting under: the environment variable or the file's key
    (the environment wins, so it is asked first); for a value built in code, the usual one."""
    for source in sources:
        name = source.name_of(location)
        if name:
            return name
    if len(location) == 1:
        return ENV_NAMES.get(location[0], f"server.{location[0]}")
    if location[0] in ("tls", "limits"):  # tables inside [server]
        return "server." + ".".join(location)
    return ".".join(location)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment (and the TOML file it names), validate, and return the settings."""
    env = os.environ if environ is None else environ
    sources: list[PydanticBaseSettingsSource] = [EnvironmentSource(Settings, env)]
    config_path = env.get("EXECUTION_CONFIG", "").strip()
    if config_path:
        sources.append(TomlFileSource(Settings, Path(config_path)))
    # pydantic-settings merges them, the first one winning key by key, table by table.
    return Settings(_build_sources=(tuple(sources), {}))


Model = TypeVar("Model")


def replace(settings: Model, /, **changes: Any) -> Model:
    """`dataclasses.replace` for Settings and its sections alike: a copy with these changes,
    validated again (a ConfigError if a change is invalid)."""
    if isinstance(settings, Settings):
        current = {name: getattr(settings, name) for name in Settings.model_fields}
        return Settings(**{**current, **changes})  # type: ignore[return-value]
    try:
        return dataclasses.replace(settings, **changes)  # type: ignore[type-var]
    except ValidationError as error:
        section = _SECTION_NAMES.get(type(settings), type(settings).__name__)
        raise config_error(error, type(settings), lambda location: ".".join((section, *location))) from None


_SECTION_NAMES = {
    SimulatorConfig: "simulator", ReconcileConfig: "reconcile", StreamConfig: "stream",
    TlsConfig: "server.tls", ServerLimits: "server.limits", MetricsConfig: "metrics",
}
