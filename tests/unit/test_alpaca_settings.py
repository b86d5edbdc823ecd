"""EXECUTION_BROKER=alpaca: its settings from ALPACA_* and the file's [alpaca] table, and each
inconsistency refused at start-up with one line naming the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from execution_server.brokers.factory import build_broker
from execution_server.config import ConfigError, load_settings

KEYS = {"EXECUTION_BROKER": "alpaca", "ALPACA_API_KEY": "AKXXXX", "ALPACA_SECRET_KEY": "very-secret"}


@pytest.mark.parametrize(
    ("environment", "base", "stream"),
    [
        ({}, "https://paper-api.alpaca.markets", "wss://paper-api.alpaca.markets/stream"),
        ({"ALPACA_BASE_URL": "https://paper-api.alpaca.markets/"}, "https://paper-api.alpaca.markets",
         "wss://paper-api.alpaca.markets/stream"),
        ({"ALPACA_BASE_URL": "http://127.0.0.1:8080"}, "http://127.0.0.1:8080", "ws://127.0.0.1:8080/stream"),
        ({"ALPACA_BASE_URL": "http://localhost:8080"}, "http://localhost:8080", "ws://localhost:8080/stream"),
        ({"TRADING_MODE": "LIVE", "ALPACA_BASE_URL": "https://api.alpaca.markets"}, "https://api.alpaca.markets",
         "wss://api.alpaca.markets/stream"),
        ({"ALPACA_BASE_URL": "http://127.0.0.1:8080", "ALPACA_STREAM_URL": "ws://127.0.0.1:8765/stream"},
         "http://127.0.0.1:8080", "ws://127.0.0.1:8765/stream"),
    ],
)
def test_consistent_settings_are_accepted_with_the_stream_url_derived(environment, base, stream) -> None:
    settings = load_settings({**KEYS, **environment})
    assert settings.alpaca_base_url == base
    assert settings.effective_alpaca_stream_url == stream
    assert settings.alpaca_data_url == "https://data.alpaca.markets"


@pytest.mark.parametrize(
    ("environment", "setting", "words"),
    [
        ({"TRADING_MODE": "LIVE", "ALPACA_BASE_URL": "http://127.0.0.1:8080"}, "TRADING_MODE", "loopback counts as paper"),
        ({"TRADING_MODE": "LIVE"}, "TRADING_MODE", "LIVE with a paper base URL"),
        ({"ALPACA_BASE_URL": "https://api.alpaca.markets"}, "TRADING_MODE", "PAPER with the live base URL"),
        ({"ALPACA_BASE_URL": "https://alpaca.example.com"}, "ALPACA_BASE_URL", "neither Alpaca's paper URL"),
        ({"ALPACA_BASE_URL": "http://paper-api.alpaca.markets"}, "ALPACA_BASE_URL", "only to a loopback host"),
        ({"ALPACA_BASE_URL": "https://paper-api.alpaca.markets/v2"}, "ALPACA_BASE_URL", "host only"),
        ({"ALPACA_BASE_URL": "paper-api.alpaca.markets"}, "ALPACA_BASE_URL", "expected https://host"),
        ({"ALPACA_BASE_URL": "http://127.0.0.1:port"}, "ALPACA_BASE_URL", "not a URL"),
        ({"ALPACA_STREAM_URL": "wss://api.alpaca.markets/stream"}, "ALPACA_STREAM_URL", "not a paper stream URL"),
        ({"TRADING_MODE": "LIVE", "ALPACA_BASE_URL": "https://api.alpaca.markets",
          "ALPACA_STREAM_URL": "ws://127.0.0.1:8765/stream"}, "ALPACA_STREAM_URL", "not a live stream URL"),
        ({"ALPACA_STREAM_URL": "https://paper-api.alpaca.markets/stream"}, "ALPACA_STREAM_URL", "expected wss://host"),
        ({"ALPACA_DATA_URL": "http://data.alpaca.markets"}, "ALPACA_DATA_URL", "only to a loopback host"),
        ({"ALPACA_API_KEY": ""}, "ALPACA_API_KEY", "required"),
        ({"ALPACA_SECRET_KEY": " "}, "ALPACA_SECRET_KEY", "required"),
    ],
)
def test_inconsistent_settings_are_refused_naming_the_setting(environment, setting, words) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**KEYS, **environment})
    assert refused.value.setting == setting
    assert words in str(refused.value)
    assert "very-secret" not in str(refused.value)


def test_the_alpaca_table_of_the_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(
        '[server]\nbroker = "alpaca"\n'
        '[alpaca]\napi_key = "AKFILE"\nsecret_key = "file-secret"\nbase_url = "http://127.0.0.1:9000"\n'
        'stream_url = "ws://127.0.0.1:9001/stream"\ndata_url = "http://127.0.0.1:9002"\n'
    )
    settings = load_settings({"EXECUTION_CONFIG": str(path)})
    assert (settings.alpaca_api_key, settings.alpaca_secret_key) == ("AKFILE", "file-secret")
    assert settings.alpaca_base_url == "http://127.0.0.1:9000"
    assert settings.effective_alpaca_stream_url == "ws://127.0.0.1:9001/stream"
    assert settings.alpaca_data_url == "http://127.0.0.1:9002"
    overridden = load_settings({"EXECUTION_CONFIG": str(path), "ALPACA_BASE_URL": "http://127.0.0.1:9100"})
    assert overridden.alpaca_base_url == "http://127.0.0.1:9100"


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ('[alpaca]\nbase_url = "ftp://127.0.0.1"\n', "alpaca.base_url"),
        ('[alpaca]\nkey = "AK"\n', "alpaca.key"),
        ('[server]\nalpaca_base_url = "https://paper-api.alpaca.markets"\n', "server.alpaca_base_url"),
    ],
)
def test_a_bad_alpaca_key_in_the_file_is_named_as_written(tmp_path: Path, text: str, setting: str) -> None:
    path = tmp_path / "service.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_CONFIG": str(path)})
    assert refused.value.setting == setting


def test_the_keys_are_masked_and_the_derived_stream_url_shown() -> None:
    shown = load_settings({**KEYS, "ALPACA_BASE_URL": "http://127.0.0.1:8080"}).masked()
    assert (shown["alpaca_api_key"], shown["alpaca_secret_key"]) == ("***", "***")
    assert shown["alpaca_stream_url"] == ""
    assert shown["effective_alpaca_stream_url"] == "ws://127.0.0.1:8080/stream"
    assert "AKXXXX" not in json.dumps(shown) and "very-secret" not in json.dumps(shown)


def test_the_factory_builds_the_alpaca_client_from_the_settings() -> None:
    from execution_server.brokers.alpaca.client import AlpacaClient

    settings = load_settings({**KEYS, "ALPACA_BASE_URL": "http://127.0.0.1:8080"})
    broker = build_broker(settings)
    assert isinstance(broker, AlpacaClient)
    assert (broker.base_url, broker.stream_url, broker.paper) == ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/stream", True)
    assert settings.broker_description() == "alpaca PAPER at http://127.0.0.1:8080"
    assert "AKXXXX" not in settings.broker_description()


def _cli(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ALPACA_", "EXECUTION_", "TRADING_"))}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-m", "execution_server", *arguments], env=env, capture_output=True, text=True, timeout=60
    )


def test_check_config_refuses_live_on_a_loopback_url_with_one_line() -> None:
    done = _cli("check-config", environment={**KEYS, "TRADING_MODE": "LIVE", "ALPACA_BASE_URL": "http://127.0.0.1:8080"})
    assert done.returncode == 2, done.stdout
    assert done.stderr.strip().splitlines() == [
        "execution-server: invalid configuration: TRADING_MODE: LIVE with a paper base URL "
        "(loopback counts as paper) (ALPACA_BASE_URL=http://127.0.0.1:8080)"
    ]
    assert "very-secret" not in done.stderr + done.stdout


def test_check_config_accepts_paper_on_a_loopback_url_keys_masked() -> None:
    done = _cli("check-config", environment={**KEYS, "ALPACA_BASE_URL": "http://127.0.0.1:8080"})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["broker"] == "alpaca" and shown["trading_mode"] == "PAPER"
    assert shown["effective_alpaca_stream_url"] == "ws://127.0.0.1:8080/stream"
    assert "AKXXXX" not in done.stdout + done.stderr and "very-secret" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("environment", "setting"),
    [
        ({"TRADING_MODE": "LIVE", "ALPACA_BASE_URL": "https://paper-api.alpaca.markets"}, "TRADING_MODE"),
        ({"TRADING_MODE": "PAPER", "ALPACA_BASE_URL": "https://api.alpaca.markets"}, "TRADING_MODE"),
        ({"TRADING_MODE": "LIVE", "ALPACA_BASE_URL": "http://127.0.0.1:8080"}, "TRADING_MODE"),
        ({"ALPACA_API_KEY": None}, "ALPACA_API_KEY"),
        ({"ALPACA_SECRET_KEY": None}, "ALPACA_SECRET_KEY"),
    ],
    ids=["live-with-paper-url", "paper-with-live-url", "live-with-loopback", "no-api-key", "no-secret-key"],
)
def test_serve_refuses_to_start_with_one_line_naming_the_setting(tmp_path: Path, environment, setting) -> None:
    """What an operator sees: `serve` itself (not only check-config) exits at once, before any
    database or port, with one line; a server that started would never exit and time out here."""
    settings = {**KEYS, "EXECUTION_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                "EXECUTION_GRPC_ADDRESS": "127.0.0.1:0", **environment}
    done = _cli("serve", environment={k: v for k, v in settings.items() if v is not None})
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"execution-server: invalid configuration: {setting}: "), line
    assert "very-secret" not in done.stderr + done.stdout and "AKXXXX" not in done.stderr + done.stdout
    assert not (tmp_path / "x.db").exists()


def test_the_proxy_settings_are_read_once_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests would read them again on every call; the adapter reads them at construction."""
    from execution_server.brokers.alpaca.client import AlpacaClient

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    broker = AlpacaClient("KEY", "SECRET", "https://paper-api.alpaca.markets", "wss://paper-api.alpaca.markets/stream",
                          paper=True)
    session = broker._trading._session
    assert session.proxies.get("https") == "http://proxy.example:3128" and session.trust_env is False
