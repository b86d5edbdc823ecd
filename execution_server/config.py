"""One typed settings object, read from the environment and an optional TOML file, validated at
start-up. An invalid setting stops start-up with one line naming it; secrets are never printed."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from execution_server.domain.money import InvalidDecimal, parse_decimal

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/execution.db"
DEFAULT_GRPC_ADDRESS = "127.0.0.1:50051"
PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
SECRET = "***"


class ConfigError(Exception):
    """An invalid setting: the message names it and says what is wrong."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    reference_prices: Mapping[str, Decimal] = field(default_factory=dict)
    default_price: Decimal = Decimal("100")
    # Where the simulated broker keeps its state across restarts; None: memory only.
    state_path: Path | None = Path("./var/simulator.jsonl")
    ack_latency_seconds: float = 0.0
    reject_fraction: float = 0.0
    unknown_outcome_fraction: float = 0.0
    ticker_interval_seconds: float | None = None
    seed: int = 0
    starting_cash: Decimal = Decimal("1000000")
    # The simulated session's close, "HH:MM" UTC: open DAY orders expire then, every day.
    # None: only SimulatorService.CloseSession ends the session.
    session_close_utc: str | None = None


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    interval_seconds: float = 60.0
    # Adopt the broker's truth automatically after each automatic run.
    auto_repair: bool = True
    halt_on_unexplained: bool = False
    history: int = 100


@dataclass(frozen=True, slots=True)
class StreamConfig:
    window_size: int = 10_000
    # Oldest events to keep in the log; None: keep everything.
    retention_events: int | None = None
    # The shortest time between two messages of one StreamOrderUpdateBatches subscriber at the
    # live edge: what arrives meanwhile travels in the next message. Bounds the messages a
    # busy service sends (each costs far more CPU than its bytes); 0 sends at every commit.
    batch_interval_seconds: float = 0.005
    # How many stream messages of subscribers that are behind may be in flight at once (they
    # take turns): bounds what catching-up readers queue on the event loop ahead of orders. A
    # send stalled on its client for 50 ms gives its slot up (api/send_slots.py).
    catch_up_send_slots: int = 16


@dataclass(frozen=True, slots=True)
class Settings:
    grpc_address: str = DEFAULT_GRPC_ADDRESS
    broker: str = "simulated"
    database_url: str = DEFAULT_DATABASE_URL
    trading_mode: str = "PAPER"
    alpaca_api_key: str = ""
    alpaca_secret_key: str = ""
    alpaca_base_url: str = PAPER_URL
    config_path: Path | None = None
    migrate_on_start: bool = True
    log_level: str = "INFO"
    grace_seconds: float = 5.0
    # How long CancelOrder waits for the broker's confirmation before answering with the order as it is.
    cancel_wait_seconds: float = 1.0
    # How long PlaceOrder waits for the broker to acknowledge a submission; after that the outcome
    # is unknown: the order stays PENDING (in flight) and is looked up by client order id.
    submit_timeout_seconds: float = 10.0
    # A connection without traffic this long is pinged: long-lived streams then survive proxies
    # and NATs that drop idle connections (often after 30 to 60 s).
    keepalive_seconds: float = 20.0
    # How long an unknown submission outcome is looked up by client order id before it is left to reconciliation.
    settle_attempts: int = 5
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)
    # The [risk] table of the config file, parsed by execution_server.risk.limits.
    risk: Mapping[str, Any] = field(default_factory=dict)

    def masked(self) -> dict[str, Any]:
        """Every setting, for check-config and the start-up log, with secrets masked."""
        shown: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("alpaca_api_key", "alpaca_secret_key"):
                value = SECRET if value else ""
            elif item.name == "database_url":
                value = mask_url_password(value)
            shown[item.name] = value
        return shown


def mask_url_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", f":{SECRET}@", 1)
    return url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment (and the TOML file it names), validate, and return the settings."""
    env = os.environ if environ is None else environ
    settings = Settings()
    config_path = env.get("EXECUTION_CONFIG", "").strip()
    if config_path:
        settings = _apply_file(settings, Path(config_path))
    settings = _apply_environment(settings, env)
    validate(settings)
    return settings


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("EXECUTION_CONFIG", f"file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("EXECUTION_CONFIG", f"{path} is not valid TOML: {error}") from None


def _apply_file(settings: Settings, path: Path) -> Settings:
    document = read_toml(path)
    server = document.get("server", {})
    changes: dict[str, Any] = {"config_path": path}
    for key in ("grpc_address", "broker", "database_url", "trading_mode", "log_level"):
        if key in server:
            changes[key] = str(server[key])
    for key in ("grace_seconds", "cancel_wait_seconds", "submit_timeout_seconds", "keepalive_seconds"):
        if key in server:
            changes[key] = _number(f"server.{key}", server[key])
    if "migrate_on_start" in server:
        changes["migrate_on_start"] = bool(server["migrate_on_start"])
    if "simulator" in document:
        changes["simulator"] = _simulator(document["simulator"])
    if "reconcile" in document:
        changes["reconcile"] = _reconcile(document["reconcile"])
    if "stream" in document:
        changes["stream"] = _stream(document["stream"])
    if "risk" in document:
        changes["risk"] = document["risk"]
    return replace(settings, **changes)


def _apply_environment(settings: Settings, env: Mapping[str, str]) -> Settings:
    changes: dict[str, Any] = {}
    names = {
        "EXECUTION_GRPC_ADDRESS": "grpc_address",
        "EXECUTION_BROKER": "broker",
        "EXECUTION_DATABASE_URL": "database_url",
        "TRADING_MODE": "trading_mode",
        "ALPACA_API_KEY": "alpaca_api_key",
        "ALPACA_SECRET_KEY": "alpaca_secret_key",
        "ALPACA_BASE_URL": "alpaca_base_url",
        "EXECUTION_LOG_LEVEL": "log_level",
    }
    for variable, attribute in names.items():
        if env.get(variable, "").strip():
            changes[attribute] = env[variable].strip()
    if "EXECUTION_MIGRATE_ON_START" in env:
        changes["migrate_on_start"] = _boolean("EXECUTION_MIGRATE_ON_START", env["EXECUTION_MIGRATE_ON_START"])
    if env.get("EXECUTION_RECONCILE_INTERVAL", "").strip():
        interval = _number("EXECUTION_RECONCILE_INTERVAL", env["EXECUTION_RECONCILE_INTERVAL"])
        changes["reconcile"] = replace(settings.reconcile, interval_seconds=interval)
    if env.get("EXECUTION_SIMULATOR_ACK_LATENCY", "").strip():
        latency = _number("EXECUTION_SIMULATOR_ACK_LATENCY", env["EXECUTION_SIMULATOR_ACK_LATENCY"])
        changes["simulator"] = replace(changes.get("simulator", settings.simulator), ack_latency_seconds=latency)
    if env.get("EXECUTION_SIMULATOR_STATE", "").strip():
        value = env["EXECUTION_SIMULATOR_STATE"].strip()
        state = None if value.lower() in ("memory", "none") else Path(value)
        changes["simulator"] = replace(changes.get("simulator", settings.simulator), state_path=state)
    return replace(settings, **changes)


def validate(settings: Settings) -> None:
    host, _, port = settings.grpc_address.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError("EXECUTION_GRPC_ADDRESS", f"expected host:port, got {settings.grpc_address!r}")
    if settings.broker not in ("simulated", "alpaca"):
        raise ConfigError("EXECUTION_BROKER", f"expected 'simulated' or 'alpaca', got {settings.broker!r}")
    if settings.trading_mode not in ("PAPER", "LIVE"):
        raise ConfigError("TRADING_MODE", f"expected PAPER or LIVE, got {settings.trading_mode!r}")
    if not settings.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "EXECUTION_DATABASE_URL",
            f"expected sqlite+aiosqlite://… or postgresql+asyncpg://…, got {mask_url_password(settings.database_url)!r}",
        )
    if settings.broker == "alpaca":
        _validate_alpaca(settings)
    elif settings.trading_mode == "LIVE":
        raise ConfigError("TRADING_MODE", "LIVE needs EXECUTION_BROKER=alpaca; the simulated broker is paper only")
    if settings.reconcile.interval_seconds <= 0:
        raise ConfigError("EXECUTION_RECONCILE_INTERVAL", "must be a positive number of seconds")
    if settings.stream.window_size < 1:
        raise ConfigError("stream.window_size", "must be at least 1")
    if settings.submit_timeout_seconds <= 0:
        raise ConfigError("server.submit_timeout_seconds", "must be positive")
    if not 0.1 <= settings.keepalive_seconds <= 3600:
        raise ConfigError("server.keepalive_seconds", "must be between 0.1 and 3600")
    if not 0 <= settings.stream.batch_interval_seconds <= 1:
        raise ConfigError("stream.batch_interval_seconds", "must be between 0 and 1")
    if settings.stream.catch_up_send_slots < 1:
        raise ConfigError("stream.catch_up_send_slots", "must be at least 1")
    if settings.stream.retention_events is not None and settings.stream.retention_events < 1:
        raise ConfigError("stream.retention_events", "must be at least 1 (leave it out to keep everything)")
    if settings.risk:
        from execution_server.risk.limits import parse_risk_limits

        try:
            parse_risk_limits(settings.risk)
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigError("risk", str(error)) from None


def _validate_alpaca(settings: Settings) -> None:
    if not settings.alpaca_api_key:
        raise ConfigError("ALPACA_API_KEY", "required when EXECUTION_BROKER=alpaca")
    if not settings.alpaca_secret_key:
        raise ConfigError("ALPACA_SECRET_KEY", "required when EXECUTION_BROKER=alpaca")
    url = settings.alpaca_base_url.rstrip("/")
    is_paper = "paper" in urlparse(url).netloc
    if settings.trading_mode == "LIVE" and is_paper:
        raise ConfigError("TRADING_MODE", f"LIVE with a paper base URL (ALPACA_BASE_URL={url})")
    if settings.trading_mode == "PAPER" and url == LIVE_URL:
        raise ConfigError("TRADING_MODE", f"PAPER with the live base URL (ALPACA_BASE_URL={url})")
    raise ConfigError(
        "EXECUTION_BROKER",
        "the Alpaca adapter is not built yet in this version; use 'simulated'",
    )


def _simulator(table: Mapping[str, Any]) -> SimulatorConfig:
    prices = {
        str(symbol): _decimal(f"simulator.reference_prices.{symbol}", value)
        for symbol, value in table.get("reference_prices", {}).items()
    }
    state = table.get("state_path", str(SimulatorConfig.state_path))
    return SimulatorConfig(
        reference_prices=prices,
        default_price=_decimal("simulator.default_price", table.get("default_price", "100")),
        state_path=None if state in ("", "memory") else Path(state),
        ack_latency_seconds=_number("simulator.ack_latency_seconds", table.get("ack_latency_seconds", 0)),
        reject_fraction=_number("simulator.reject_fraction", table.get("reject_fraction", 0)),
        unknown_outcome_fraction=_number(
            "simulator.unknown_outcome_fraction", table.get("unknown_outcome_fraction", 0)
        ),
        ticker_interval_seconds=(
            _number("simulator.ticker_interval_seconds", table["ticker_interval_seconds"])
            if "ticker_interval_seconds" in table
            else None
        ),
        seed=int(table.get("seed", 0)),
        starting_cash=_decimal("simulator.starting_cash", table.get("starting_cash", "1000000")),
        session_close_utc=_clock_time("simulator.session_close_utc", table.get("session_close_utc")),
    )


def _clock_time(setting: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2):
        raise ConfigError(setting, f'expected "HH:MM" (UTC), got {text!r}')
    return text


def _reconcile(table: Mapping[str, Any]) -> ReconcileConfig:
    return ReconcileConfig(
        interval_seconds=_number("reconcile.interval_seconds", table.get("interval_seconds", 60)),
        auto_repair=bool(table.get("auto_repair", True)),
        halt_on_unexplained=bool(table.get("halt_on_unexplained", False)),
        history=int(table.get("history", 100)),
    )


def _stream(table: Mapping[str, Any]) -> StreamConfig:
    retention = table.get("retention_events")
    return StreamConfig(
        window_size=int(table.get("window_size", 10_000)),
        retention_events=None if retention in (None, 0) else int(retention),
        batch_interval_seconds=float(table.get("batch_interval_seconds", 0.005)),
        catch_up_send_slots=int(table.get("catch_up_send_slots", 16)),
    )


def _decimal(setting: str, value: Any) -> Decimal:
    if isinstance(value, float):
        raise ConfigError(setting, f"write money as a string or an integer, not the float {value!r}")
    try:
        return parse_decimal(str(value))
    except InvalidDecimal as error:
        raise ConfigError(setting, str(error)) from None


def _number(setting: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(setting, f"expected a number, got {value!r}") from None


def _boolean(setting: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(setting, f"expected true or false, got {value!r}")
