"""Safe default risk limits (issue 20): with no [risk] table the service refuses absurd orders;
`risk.limits = "none"` runs without them and says so; LIVE refuses that; check-config and
GetRiskLimits show the limits in force."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

ABSURD = "999999999999999999999999"  # the issue's market buy, which used to fill


async def test_the_issues_absurd_market_buy_is_rejected_with_a_risk_reason(client: Client) -> None:
    order = await client.place(quantity=ABSURD)
    assert order.status == pb.ORDER_STATUS_REJECTED
    assert order.reject_reason.startswith("MAX_ORDER_QUANTITY: order quantity"), order.reject_reason
    assert (await client.execution.GetPositions(pb.GetPositionsRequest())).positions == []


async def test_the_default_notional_limit_admits_an_order_inside_it_and_refuses_one_past_it(client: Client) -> None:
    # AAPL at 190: 52,631 shares are 9,999,890; 52,632 are 10,000,080, past 10,000,000.
    inside = await client.place(quantity="52631")
    assert inside.status != pb.ORDER_STATUS_REJECTED, inside.reject_reason
    past = await client.place(quantity="52632")
    assert past.status == pb.ORDER_STATUS_REJECTED and past.reject_reason.startswith("MAX_ORDER_NOTIONAL"), past


async def test_get_risk_limits_shows_the_defaults_and_an_override_key_by_key(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path, risk={"max_order_quantity": "100"})) as client:
        shown = dict((await client.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest())).limits)
    assert shown["order_limits.max_order_quantity"] == "100"
    assert shown["order_limits.max_order_notional"] == "10000000"
    assert shown["position.max_position_notional"] == "50000000"
    assert shown["order_limits.max_orders_per_second"] == "500"


async def test_limits_none_runs_without_limits_and_warns_at_start_up(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(database_url, tmp_path, risk={"limits": "none"})
    with caplog.at_level(logging.WARNING, "execution_server"):
        async with running(settings) as client:
            shown = dict((await client.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest())).limits)
            placed = await client.place(quantity=ABSURD)
            filled = await eventually(lambda: client.get(placed.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
    assert set(shown.values()) == {""}
    assert filled.filled_quantity == ABSURD
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "risk.limits" in r.getMessage()]
    assert len(warnings) == 1 and 'risk.limits = "none" at start-up' in warnings[0], warnings


def _cli(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ALPACA_", "EXECUTION_", "TRADING_"))}
    return subprocess.run(
        [sys.executable, "-m", "execution_server", *arguments], env={**env, **environment},
        capture_output=True, text=True, timeout=60,
    )


def test_live_with_limits_none_refuses_to_start_with_one_line_naming_risk_limits(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text('[risk]\nlimits = "none"\n')
    database = tmp_path / "x.db"
    done = _cli("serve", environment={
        "EXECUTION_BROKER": "alpaca", "TRADING_MODE": "LIVE", "ALPACA_BASE_URL": "https://api.alpaca.markets",
        "ALPACA_API_KEY": "AKLIVEKEY", "ALPACA_SECRET_KEY": "live-secret-value", "EXECUTION_CONFIG": str(config),
        "EXECUTION_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "EXECUTION_GRPC_ADDRESS": "127.0.0.1:0",
    })
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith('execution-server: invalid configuration: risk.limits: "none" is refused with TRADING_MODE=LIVE'), line
    assert "live-secret-value" not in done.stdout + done.stderr and "AKLIVEKEY" not in done.stdout + done.stderr
    assert not database.exists()


def test_check_config_prints_the_effective_limits(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text('[risk]\nmax_order_quantity = "250"\n\n[risk.strategies.fast]\nmax_orders_per_second = 2000\n')
    done = _cli("check-config", environment={"EXECUTION_CONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)["effective_risk_limits"]
    assert shown["safe_defaults_off"] is False
    assert shown["global"]["order_limits.max_order_quantity"] == "250"
    assert shown["global"]["order_limits.max_order_notional"] == "10000000"
    assert shown["strategies"]["fast"]["order_limits.max_orders_per_second"] == "2000"
    assert shown["strategies"]["fast"]["order_limits.max_order_quantity"] == "250"
