"""The command line's parsing: defaults from the environment, usage errors exit 2."""

from __future__ import annotations

import pytest

from execution_client.ctl.arguments import DEFAULT_ADDRESS, parse
from execution_client.ctl.commands import statuses_for
from execution_client.ctl.exit_codes import ExitCode, exit_code_for

import grpc


def test_the_address_comes_from_the_flag_then_the_environment_then_the_default() -> None:
    assert parse(["orders"], {}).address == DEFAULT_ADDRESS
    assert parse(["orders"], {"EXECUTION_ADDRESS": "db:1"}).address == "db:1"
    assert parse(["--address", "a:2", "orders"], {"EXECUTION_ADDRESS": "db:1"}).address == "a:2"
    assert parse(["orders", "--address", "b:3"], {}).address == "b:3"


def test_options_given_before_the_command_are_kept() -> None:
    args = parse(["--json", "--timeout", "3", "positions", "--strategy", "s1"], {})
    assert (args.json, args.timeout, args.strategy) == (True, 3.0, "s1")


def test_open_stands_for_every_state_an_order_can_leave() -> None:
    args = parse(["orders", "--status", "open", "--status", "FILLED", "--status", "SUBMITTED"], {})
    assert statuses_for(args.status) == ["PENDING", "SUBMITTED", "PARTIALLY_FILLED", "FILLED"]


@pytest.mark.parametrize("argv", [
    [],
    ["orders", "--status", "DONE"],
    ["orders", "--limit", "0"],
    ["kill-switch", "on"],
    ["kill-switch", "off", "--reason", "  "],
    ["kill-switch", "--reason", "why"],
    ["kill-switch", "maybe", "--reason", "x"],
    ["order"],
    ["frobnicate"],
])
def test_a_usage_error_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(argv, {})
    assert exited.value.code == ExitCode.USAGE == 2
    assert "usage: execution-ctl" in capsys.readouterr().err


def test_there_is_no_token_flag() -> None:
    with pytest.raises(SystemExit):
        parse(["--token", "secret", "orders"], {})


def test_status_codes_map_to_the_documented_exit_codes() -> None:
    assert exit_code_for(grpc.StatusCode.NOT_FOUND) == 3
    assert exit_code_for(grpc.StatusCode.UNAUTHENTICATED) == exit_code_for(grpc.StatusCode.PERMISSION_DENIED) == 4
    assert exit_code_for(grpc.StatusCode.INVALID_ARGUMENT) == exit_code_for(grpc.StatusCode.FAILED_PRECONDITION) == 5
    assert exit_code_for(grpc.StatusCode.UNAVAILABLE) == exit_code_for(grpc.StatusCode.DEADLINE_EXCEEDED) == 6
    assert exit_code_for(grpc.StatusCode.INTERNAL) == 7
