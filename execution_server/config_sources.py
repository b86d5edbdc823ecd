"""Where settings come from: the environment and the TOML file, as pydantic-settings sources.

Each source knows the names people write (`EXECUTION_RECONCILE_INTERVAL`, `[server]
grpc_address`), maps them onto the one settings model, and names them back when the model
refuses a value, so that every error says which line of which source to fix."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from execution_server.config_fields import ConfigError

Location = tuple[str, ...]

# Every environment variable the service reads, and where its value goes in the model.
VARIABLES: Mapping[str, Location] = {
    "EXECUTION_CONFIG": ("config_path",),
    "EXECUTION_GRPC_ADDRESS": ("grpc_address",),
    "EXECUTION_BROKER": ("broker",),
    "EXECUTION_DATABASE_URL": ("database_url",),
    "EXECUTION_LOG_LEVEL": ("log_level",),
    "EXECUTION_LOG_FORMAT": ("log_format",),
    "EXECUTION_METRICS_ADDRESS": ("metrics", "address"),
    "EXECUTION_SQLITE_SYNCHRONOUS": ("sqlite_synchronous",),
    "EXECUTION_MIGRATE_ON_START": ("migrate_on_start",),
    "EXECUTION_RECONCILE_INTERVAL": ("reconcile", "interval_seconds"),
    "EXECUTION_SIMULATOR_ACK_LATENCY": ("simulator", "ack_latency_seconds"),
    "EXECUTION_SIMULATOR_STATE": ("simulator", "state_path"),
    "EXECUTION_TLS_CERT_FILE": ("tls", "cert_file"),
    "EXECUTION_TLS_KEY_FILE": ("tls", "key_file"),
    "EXECUTION_TLS_CLIENT_CA_FILE": ("tls", "client_ca_file"),
    "TRADING_MODE": ("trading_mode",),
    "ALPACA_API_KEY": ("alpaca_api_key",),
    "ALPACA_SECRET_KEY": ("alpaca_secret_key",),
    "ALPACA_BASE_URL": ("alpaca_base_url",),
    "ALPACA_STREAM_URL": ("alpaca_stream_url",),
    "ALPACA_DATA_URL": ("alpaca_data_url",),
}
# EXECUTION_* is ours: a misspelt variable silently ignored is a setting that does not exist.
# EXECUTION_TEST_* belongs to the test suite (EXECUTION_TEST_DATABASE_URL) and is never read here.
# ALPACA_* and TRADING_* are shared with Alpaca's own tools, so only the names above are read.
OWN_PREFIX = "EXECUTION_"
TEST_PREFIX = "EXECUTION_TEST_"
# The clients' variables (execution-ctl, the example strategy): an operator's shell may hold them
# beside the server's, so they are left alone rather than refused as misspelt settings.
CLIENT_VARIABLES = frozenset({"EXECUTION_ADDRESS", "EXECUTION_TOKEN"})

SECTIONS = ("server", "simulator", "reconcile", "stream", "metrics", "risk", "auth", "alpaca")
# The [alpaca] table's keys, and the top-level settings they are: the broker's own words, as in
# ALPACA_*, rather than a section of the model (its values are checked together with the mode).
ALPACA_KEYS: Mapping[str, str] = {
    "api_key": "alpaca_api_key",
    "secret_key": "alpaca_secret_key",
    "base_url": "alpaca_base_url",
    "stream_url": "alpaca_stream_url",
    "data_url": "alpaca_data_url",
}
# [server] holds the top-level settings, except those that are not the file's to say there.
NOT_IN_FILE = frozenset({"config_path", *ALPACA_KEYS.values()})


class EnvironmentSource(PydanticBaseSettingsSource):
    """The variables in VARIABLES; blank means unset. An unknown EXECUTION_* is refused."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ
        self.origins: dict[Location, str] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        # Required by the base class; this source answers as a whole, in __call__.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        for name in sorted(self.environ):
            if (name.startswith(OWN_PREFIX) and not name.startswith(TEST_PREFIX)
                    and name not in VARIABLES and name not in CLIENT_VARIABLES):
                known = ", ".join(sorted(v for v in VARIABLES if v.startswith(OWN_PREFIX)))
                raise ConfigError(name, f"unknown setting (known: {known})")
        values: dict[str, Any] = {}
        for name, location in VARIABLES.items():
            raw = self.environ.get(name, "").strip()
            if raw:
                _put(values, location, raw)
                self.origins[location] = name
        return values

    def name_of(self, location: Location) -> str | None:
        return self.origins.get(location[:2]) or self.origins.get(location[:1])


class TomlFileSource(PydanticBaseSettingsSource):
    """The file EXECUTION_CONFIG names: [server] for the top-level settings, one table per
    section. A table or [server] key the model does not know is refused here; keys inside the
    sections are the model's own to refuse."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path
        self.document: dict[str, Any] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        self.document = read_toml(self.path)
        values: dict[str, Any] = {}
        for table, content in self.document.items():
            if table not in SECTIONS:
                raise ConfigError(table, f"unknown section of {self.path} (known: {', '.join(SECTIONS)})")
            if not isinstance(content, dict):
                raise ConfigError(table, f"expected a [{table}] table")
            if table == "server":
                values.update(self._server(content))
            elif table == "alpaca":
                values.update(self._alpaca(content))
            else:
                values[table] = content
        values["config_path"] = self.path
        return values

    def _server(self, table: dict[str, Any]) -> dict[str, Any]:
        known = sorted(set(self.settings_cls.model_fields) - set(SECTIONS) - NOT_IN_FILE)
        for key in table:
            if key in ALPACA_KEYS.values():
                raise ConfigError(f"server.{key}", f"write it in the [alpaca] table, as {key.removeprefix('alpaca_')}")
            if key not in known:
                raise ConfigError(f"server.{key}", f"unknown setting (known: {', '.join(known)})")
        return dict(table)

    def _alpaca(self, table: dict[str, Any]) -> dict[str, Any]:
        for key in table:
            if key not in ALPACA_KEYS:
                raise ConfigError(f"alpaca.{key}", f"unknown setting (known: {', '.join(ALPACA_KEYS)})")
        return {ALPACA_KEYS[key]: value for key, value in table.items()}

    def name_of(self, location: Location) -> str | None:
        for key, field_name in ALPACA_KEYS.items():
            if location[0] == field_name and key in self.document.get("alpaca", {}):
                return f"alpaca.{key}"
        if location[0] in SECTIONS and location[0] in self.document:
            return ".".join(location)
        if location[0] in self.document.get("server", {}):
            return "server." + ".".join(location)
        return None


def read_toml(path: str | Path) -> dict[str, Any]:
    """The config file as a document; unreadable or not TOML is a ConfigError naming the file."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("EXECUTION_CONFIG", f"cannot read {path}: file not found") from None
    except OSError as error:
        raise ConfigError("EXECUTION_CONFIG", f"cannot read {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("EXECUTION_CONFIG", f"{path} is not valid TOML: {error}") from None


def config_error(error: ValidationError, model: type, name_of: Callable[[Location], str]) -> ConfigError:
    """The first thing pydantic refused, as one ConfigError named the way the user wrote it."""
    first = error.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigError):  # a rule that knows its own setting's name
        return cause
    location = tuple(str(part) for part in first["loc"])
    if first["type"] in ("extra_forbidden", "unexpected_keyword_argument"):  # models, dataclasses
        known = ", ".join(_fields_at(model, location[:-1]))
        return ConfigError(name_of(location), f"unknown setting (known: {known})")
    return ConfigError(name_of(location), first["msg"].removeprefix("Value error, "))


def _fields_at(model: Any, path: Location) -> list[str]:
    for part in path:
        field = getattr(model, "__pydantic_fields__", {}).get(part)
        if field is None:
            return []
        model = field.annotation
    return sorted(getattr(model, "__pydantic_fields__", {}))


def _put(values: dict[str, Any], location: Location, value: Any) -> None:
    *tables, key = location
    for table in tables:
        values = values.setdefault(table, {})
    values[key] = value
