"""Start-up refuses each kind of invalid configuration with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from execution_server.config import ConfigError, load_settings

ALPACA = {"EXECUTION_BROKER": "alpaca", "ALPACA_API_KEY": "AKXXXX", "ALPACA_SECRET_KEY": "very-secret"}


@pytest.mark.parametrize(
    ("environment", "setting", "words"),
    [
        ({"TRADING_MODE": "LIVE", **ALPACA, "ALPACA_BASE_URL": "https://paper-api.alpaca.markets"}, "TRADING_MODE", "paper base URL"),
        ({"TRADING_MODE": "PAPER", **ALPACA, "ALPACA_BASE_URL": "https://api.alpaca.markets"}, "TRADING_MODE", "live base URL"),
        ({"EXECUTION_BROKER": "alpaca"}, "ALPACA_API_KEY", "required"),
        ({"EXECUTION_BROKER": "alpaca", "ALPACA_API_KEY": "k"}, "ALPACA_SECRET_KEY", "required"),
        ({"TRADING_MODE": "SIM"}, "TRADING_MODE", "PAPER or LIVE"),
        ({"TRADING_MODE": "LIVE"}, "TRADING_MODE", "simulated broker is paper only"),
        ({"EXECUTION_BROKER": "ib"}, "EXECUTION_BROKER", "'simulated' or 'alpaca'"),
        ({"EXECUTION_GRPC_ADDRESS": "nowhere"}, "EXECUTION_GRPC_ADDRESS", "host:port"),
        ({"EXECUTION_DATABASE_URL": "mysql://x"}, "EXECUTION_DATABASE_URL", "postgresql+asyncpg"),
        ({"EXECUTION_RECONCILE_INTERVAL": "soon"}, "EXECUTION_RECONCILE_INTERVAL", "number"),
        ({"EXECUTION_RECONCILE_INTERVAL": "0"}, "EXECUTION_RECONCILE_INTERVAL", "positive"),
        ({"EXECUTION_CONFIG": "/no/such/file.toml"}, "EXECUTION_CONFIG", "not found"),
    ],
)
def test_invalid_setting_is_refused_with_its_name(environment, setting, words) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environment)
    assert refused.value.setting == setting
    assert words in str(refused.value)


def test_a_config_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[risk\nmax = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"EXECUTION_CONFIG": str(path)})


def test_money_written_as_a_float_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text("[simulator.reference_prices]\nAAPL = 187.25\n")
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_CONFIG": str(path)})
    assert refused.value.setting == "simulator.reference_prices.AAPL"


def test_invalid_risk_limits_stop_start_up(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text('[risk]\nmax_order_quantity = "-5"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_CONFIG": str(path)})
    assert refused.value.setting == "risk.max_order_quantity"


def test_defaults_are_the_embedded_ones() -> None:
    settings = load_settings({})
    assert settings.broker == "simulated"
    assert settings.grpc_address == "127.0.0.1:50051"
    assert settings.database_url.startswith("sqlite+aiosqlite:///./var/")
    assert settings.reconcile.interval_seconds == 60


def test_file_settings_are_read_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(
        '[server]\ngrpc_address = "127.0.0.1:6000"\n'
        '[simulator.reference_prices]\nAAPL = "187.25"\n'
        '[risk]\nmax_order_quantity = "1000"\n'
    )
    settings = load_settings({"EXECUTION_CONFIG": str(path), "EXECUTION_GRPC_ADDRESS": "127.0.0.1:7000"})
    assert settings.grpc_address == "127.0.0.1:7000"
    assert str(settings.simulator.reference_prices["AAPL"]) == "187.25"
    assert settings.risk["max_order_quantity"] == "1000"


def _cli(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ALPACA_", "EXECUTION_", "TRADING_"))}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-m", "execution_server", *arguments], env=env, capture_output=True, text=True, timeout=60
    )


def test_check_config_prints_settings_with_secrets_masked() -> None:
    done = _cli("check-config", environment={"ALPACA_API_KEY": "AKSECRETKEY", "ALPACA_SECRET_KEY": "s3cr3t-value",
                                            "EXECUTION_DATABASE_URL": "postgresql+asyncpg://app:hunter2@db/x"})
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    for secret in ("AKSECRETKEY", "s3cr3t-value", "hunter2"):
        assert secret not in output
    assert '"alpaca_api_key": "***"' in done.stdout


def test_invalid_configuration_stops_the_cli_with_one_line() -> None:
    done = _cli("serve", environment={"EXECUTION_BROKER": "alpaca", "ALPACA_API_KEY": "AKSECRETKEY"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == ["execution-server: invalid configuration: ALPACA_SECRET_KEY: required when EXECUTION_BROKER=alpaca"]
    assert "AKSECRETKEY" not in done.stderr


def test_a_session_close_must_be_a_clock_time(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text('[simulator]\nsession_close_utc = "25:00"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_CONFIG": str(path)})
    assert refused.value.setting == "simulator.session_close_utc"
    path.write_text('[simulator]\nsession_close_utc = "20:00"\n')
    assert load_settings({"EXECUTION_CONFIG": str(path)}).simulator.session_close_utc == "20:00"


def test_the_submit_timeout_is_read_and_must_be_positive(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text("[server]\nsubmit_timeout_seconds = 2.5\n")
    assert load_settings({"EXECUTION_CONFIG": str(path)}).submit_timeout_seconds == 2.5
    path.write_text("[server]\nsubmit_timeout_seconds = 0\n")
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_CONFIG": str(path)})
    assert refused.value.setting == "server.submit_timeout_seconds"


@pytest.mark.parametrize(
    ("table", "key", "default", "given", "out_of_bounds", "read"),
    [
        ("stream", "batch_interval_seconds", 0.005, 0.02, 5, lambda settings: settings.stream.batch_interval_seconds),
        ("stream", "catch_up_send_slots", 16, 4, 0, lambda settings: settings.stream.catch_up_send_slots),
        ("stream", "catch_up_share", 0.1, 0.5, 0, lambda settings: settings.stream.catch_up_share),
        ("server", "keepalive_seconds", 20, 45, 0, lambda settings: settings.keepalive_seconds),
    ],
)
def test_a_bounded_setting_is_read_and_refused_out_of_its_bounds(
    tmp_path: Path, table: str, key: str, default: float, given: float, out_of_bounds: float, read: Any
) -> None:
    path = tmp_path / "settings.toml"
    assert read(load_settings({})) == default
    path.write_text(f"[{table}]\n{key} = {given}\n")
    assert read(load_settings({"EXECUTION_CONFIG": str(path)})) == given
    path.write_text(f"[{table}]\n{key} = {out_of_bounds}\n")
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_CONFIG": str(path)})
    assert refused.value.setting == f"{table}.{key}"
