"""The token comes from EXECUTION_TOKEN (or --token-file), never a flag; a refused token exits 4."""

from __future__ import annotations

from pathlib import Path

from execution_client import BlockingExecutionClient
from tests.auth.kit import MOMENTUM_TOKEN, OPERATOR_TOKEN, UNKNOWN_TOKEN
from tests.ctl.kit import ctl


def test_the_token_from_the_environment_is_sent(auth_address: str, operator: BlockingExecutionClient) -> None:
    order = operator.place_order(symbol="AAPL", side="BUY", quantity=1, strategy_id="momentum_v1")
    ran = ctl(auth_address, "orders", env={"EXECUTION_TOKEN": OPERATOR_TOKEN})
    assert ran.code == 0, ran.err
    assert order.order_id in ran.out
    assert OPERATOR_TOKEN not in ran.out + ran.err


def test_a_wrong_token_exits_4(auth_address: str) -> None:
    ran = ctl(auth_address, "orders", env={"EXECUTION_TOKEN": UNKNOWN_TOKEN})
    assert ran.code == 4 and "UNAUTHENTICATED" in ran.err and ran.out == ""
    assert UNKNOWN_TOKEN not in ran.err


def test_no_token_exits_4(auth_address: str) -> None:
    ran = ctl(auth_address, "positions")
    assert ran.code == 4 and "UNAUTHENTICATED" in ran.err


def test_a_strategy_token_may_not_engage_the_kill_switch(auth_address: str, operator: BlockingExecutionClient) -> None:
    ran = ctl(auth_address, "kill-switch", "on", "--reason", "not mine to pull", env={"EXECUTION_TOKEN": MOMENTUM_TOKEN})
    assert ran.code == 4 and "PERMISSION_DENIED" in ran.err
    assert not operator.get_risk_status().kill_switch_engaged


def test_a_token_file_wins_over_the_environment(auth_address: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(OPERATOR_TOKEN + "\n")
    ran = ctl(auth_address, "--token-file", str(token_file), "kill-switch", env={"EXECUTION_TOKEN": UNKNOWN_TOKEN})
    assert ran.code == 0, ran.err
    assert "ACTIVE" in ran.out


def test_an_unreadable_token_file_is_a_usage_error(auth_address: str, tmp_path: Path) -> None:
    ran = ctl(auth_address, "--token-file", str(tmp_path / "absent"), "orders")
    assert ran.code == 2 and "--token-file" in ran.err
    (tmp_path / "empty").write_text("\n")
    assert ctl(auth_address, "--token-file", str(tmp_path / "empty"), "orders").code == 2
