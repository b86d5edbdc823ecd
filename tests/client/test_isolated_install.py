"""The client package needs nothing of the server: built as a wheel and installed into a venv
of its own (`make client-venv`, which `make test` runs first), it imports and trades against a
real server from there, where the server's packages cannot be imported. The example strategy is
what it runs, so this is also the example's test; it runs from the main venv too (`make example`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PYTHON = ROOT / ".venv-client" / "bin" / "python"
EXAMPLE = ROOT / "examples" / "python" / "strategy.py"

PROBE = """
import importlib, importlib.metadata, sys
import execution_client
print("client", execution_client.__file__)
for name in ("execution_server", "execution", "sqlalchemy", "alpaca", "grpc_status", "grpc_tools", "asyncpg"):
    try:
        importlib.import_module(name)
    except ImportError:
        print("absent", name)
    else:
        print("present", name)
print("installed", " ".join(sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions())))
"""


# The blocking client, and a BadRequest decoded without grpcio-status, from the client's venv.
INVALID_ORDER = """
import sys
from execution_client import BlockingExecutionClient, InvalidArgument
with BlockingExecutionClient(sys.argv[1]) as client:
    try:
        client.place_order(symbol="NOT A SYMBOL", side="BUY", quantity=1, strategy_id="momentum_v1")
    except InvalidArgument as error:
        print(error.code.name, [violation.field for violation in error.violations])
"""


@pytest.fixture(scope="module")
def client_python() -> Path:
    """The venv's interpreter; `make client-venv` builds it when missing or stale (a no-op after `make test`)."""
    built = subprocess.run(["make", "--no-print-directory", "client-venv"], cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    return CLIENT_PYTHON


def isolated_environment() -> dict[str, str]:
    # Nothing of the test run's own paths: PYTHONPATH points at the server's sources.
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "EXECUTION_"))}


def test_the_client_venv_holds_the_client_and_its_three_dependencies_only(client_python: Path) -> None:
    probe = subprocess.run([str(client_python), "-I", "-c", PROBE], cwd="/", env=isolated_environment(),
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    installed_at = lines[0].removeprefix("client ")
    assert installed_at.startswith(str(ROOT / ".venv-client")), installed_at  # the wheel, not the source tree
    assert [line for line in lines if line.startswith("present")] == []
    assert len([line for line in lines if line.startswith("absent")]) == 7
    installed = set(lines[-1].removeprefix("installed ").split())
    # pip and setuptools come with every venv; typing-extensions is grpcio's own dependency.
    assert installed - {"pip", "setuptools", "typing_extensions", "typing-extensions"} == {
        "execution-client", "grpcio", "protobuf", "googleapis-common-protos",
    }


def run_example(python: Path | str, address: str, environment: dict[str, str]) -> str:
    ran = subprocess.run([str(python), str(EXAMPLE), "--address", address, "--strategy", "example_test"],
                         cwd="/", env=environment, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout


def assert_trades(output: str) -> None:
    lines = output.splitlines()
    assert "market  AAPL priced at 187.50 (simulated broker)" in lines
    fills = [line for line in lines if line.startswith("fill ")]
    assert [line.split("(")[0].split() for line in fills] == [
        ["fill", "BUY", "10", "AAPL", "@", "187.5"], ["fill", "BUY", "5", "AAPL", "@", "187.5"],
        ["fill", "SELL", "3", "AAPL", "@", "187.5"],
    ]
    assert "position AAPL 12 @ 187.5 realized P&L 0" in lines


@pytest.mark.slow
def test_the_example_trades_from_the_client_venv(client_python: Path, database_url: str, tmp_path: Path) -> None:
    with ServerProcess(database_url, tmp_path) as server:
        assert_trades(run_example(client_python, server.address, isolated_environment()))
        refused = subprocess.run([str(client_python), "-I", "-c", INVALID_ORDER, server.address], cwd="/",
                                 env=isolated_environment(), capture_output=True, text=True, timeout=120)
    assert refused.returncode == 0, refused.stderr
    assert refused.stdout.splitlines() == ["INVALID_ARGUMENT ['symbol']"]


@pytest.mark.slow
def test_the_example_trades_from_the_main_venv(database_url: str, tmp_path: Path) -> None:
    with ServerProcess(database_url, tmp_path) as server:
        assert_trades(run_example(sys.executable, server.address, dict(os.environ)))
