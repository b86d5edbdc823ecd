"""One settings model: unknown keys refused everywhere, every error a ConfigError naming the
setting, money never a float, plain database URLs given their async driver, and check-config
printing JSON with the simulator's effective prices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from execution_server.config import ConfigError, Settings, SimulatorConfig, load_settings


def _load_file(tmp_path: Path, text: str, **environment: str) -> Settings:
    path = tmp_path / "service.toml"
    path.write_text(text)
    return load_settings({"EXECUTION_CONFIG": str(path), **environment})


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("[server]\nport = 50051\n", "server.port"),
        ('[simulator]\ndefault_prise = "100"\n', "simulator.default_prise"),
        ("[reconcile]\nintervall_seconds = 5\n", "reconcile.intervall_seconds"),
        ("[stream]\nwindow = 5\n", "stream.window"),
        ('[risk]\nmax_order_quantiy = "1"\n', "risk.max_order_quantiy"),
        ('[risk.strategies.momentum_v1]\nmax_qty = "1"\n', "risk.strategies.momentum_v1.max_qty"),
        ('[risk.account]\nmax_order_quantity = "1"\n', "risk.account.max_order_quantity"),
        ("[simulatr]\nseed = 1\n", "simulatr"),
    ],
)
def test_an_unknown_key_in_any_section_is_refused_naming_it(tmp_path: Path, text: str, setting: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _load_file(tmp_path, text)
    assert refused.value.setting == setting
    assert "unknown" in refused.value.problem


def test_an_unknown_execution_variable_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_GRPC_ADRESS": "127.0.0.1:6000"})
    assert refused.value.setting == "EXECUTION_GRPC_ADRESS"
    assert "EXECUTION_GRPC_ADDRESS" in refused.value.problem  # the list of known ones


def test_the_test_suites_own_variables_are_not_the_services() -> None:
    assert load_settings({"EXECUTION_TEST_DATABASE_URL": "postgresql+asyncpg://x@y/z"}).broker == "simulated"


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("[simulator]\nreject_fraction = 1.5\n", "simulator.reject_fraction"),
        ("[simulator]\nreject_fraction = 0.6\nunknown_outcome_fraction = 0.6\n", "simulator.unknown_outcome_fraction"),
        ('[simulator]\ndefault_price = "0"\n', "simulator.default_price"),
        ('[simulator]\nseed = "seven"\n', "simulator.seed"),
        ("[simulator]\nack_latency_seconds = -1\n", "simulator.ack_latency_seconds"),
        ('[stream]\nwindow_size = "big"\n', "stream.window_size"),
        ('[server]\nmigrate_on_start = "perhaps"\n', "server.migrate_on_start"),
    ],
)
def test_a_bad_section_value_is_a_config_error_naming_it(tmp_path: Path, text: str, setting: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _load_file(tmp_path, text)
    assert refused.value.setting == setting
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("[simulator]\ndefault_price = 100.5\n", "simulator.default_price"),
        ("[simulator]\nstarting_cash = 1000000.0\n", "simulator.starting_cash"),
        ("[simulator.reference_prices]\nMSFT = 420.1\n", "simulator.reference_prices.MSFT"),
        ("[risk.account]\nmax_daily_loss = 2500.5\n", "risk.account.max_daily_loss"),
    ],
)
def test_money_written_as_a_float_is_refused_naming_the_setting(tmp_path: Path, text: str, setting: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _load_file(tmp_path, text)
    assert refused.value.setting == setting
    assert "float" in refused.value.problem


def test_money_built_in_code_is_never_a_float() -> None:
    with pytest.raises(ValueError, match="float"):
        SimulatorConfig(default_price=100.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "used"),
    [
        ("sqlite:///./var/x.db", "sqlite+aiosqlite:///./var/x.db"),
        ("sqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("postgresql://app@db/orders", "postgresql+asyncpg://app@db/orders"),
        ("postgres://app:pw@db:5432/orders", "postgresql+asyncpg://app:pw@db:5432/orders"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql+asyncpg://app@db/orders", "postgresql+asyncpg://app@db/orders"),
    ],
)
def test_a_plain_database_url_gets_the_async_driver(written: str, used: str) -> None:
    assert load_settings({"EXECUTION_DATABASE_URL": written}).database_url == used


@pytest.mark.parametrize("written", ["mysql://app@db/x", "postgresql+psycopg2://app:hunter2@db/x", "sqlite+pysqlite:///x.db", "x.db"])
def test_another_database_or_driver_is_refused_naming_the_variable(written: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_DATABASE_URL": written})
    assert refused.value.setting == "EXECUTION_DATABASE_URL"
    assert "hunter2" not in str(refused.value)


def test_a_database_url_in_the_file_is_named_by_its_key(tmp_path: Path) -> None:
    assert _load_file(tmp_path, '[server]\ndatabase_url = "postgres://a@b/c"\n').database_url == "postgresql+asyncpg://a@b/c"
    with pytest.raises(ConfigError) as refused:
        _load_file(tmp_path, '[server]\ndatabase_url = "mysql://a@b/c"\n')
    assert refused.value.setting == "server.database_url"


def test_replace_validates_the_copy() -> None:
    from execution_server.config import replace

    settings = load_settings({})
    assert replace(settings, grace_seconds=2.0).grace_seconds == 2.0
    with pytest.raises(ConfigError) as refused:
        replace(settings, grpc_address="nowhere")
    assert refused.value.setting == "EXECUTION_GRPC_ADDRESS"
    with pytest.raises(ConfigError) as refused:
        replace(settings.simulator, reject_fraction=2.0)
    assert refused.value.setting == "simulator.reject_fraction"


def _cli(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ALPACA_", "EXECUTION_", "TRADING_"))}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-m", "execution_server", *arguments], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_bad_simulator_setting_stops_check_config_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text("[simulator]\nreject_fraction = 1.5\n")
    done = _cli("check-config", environment={"EXECUTION_CONFIG": str(path)})
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("execution-server: invalid configuration: simulator.reject_fraction: ")


def test_check_config_prints_json_with_the_simulators_effective_prices(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text('[simulator]\ndefault_price = "100"\n[simulator.reference_prices]\nMSFT = "421.5"\n')
    done = _cli("check-config", environment={"EXECUTION_CONFIG": str(path), "ALPACA_SECRET_KEY": "s3cr3t"})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["simulator"]["default_price"] == "100"  # a Decimal, as a string
    assert shown["simulator"]["effective_reference_prices"]["AAPL"] == "190"  # built in: what AAPL fills at
    assert shown["simulator"]["effective_reference_prices"]["MSFT"] == "421.5"  # configured wins
    assert shown["reconcile"]["interval_seconds"] == 60
    assert shown["alpaca_secret_key"] == "***"
