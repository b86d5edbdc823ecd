"""`execution-ctl`, the console script, from the client's own venv (the wheel with its three
dependencies and nothing of the server), against a real server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from execution_client import BlockingExecutionClient
from tests.ctl.kit import CALL_TIMEOUT, RUN_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = ROOT / ".venv-client" / "bin" / "execution-ctl"


def test_the_console_script_runs_from_the_client_venv(address: str, service: BlockingExecutionClient) -> None:
    built = subprocess.run(["make", "--no-print-directory", "client-venv"], cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    order = service.place_order(symbol="AAPL", side="BUY", quantity="0.5", strategy_id="momentum_v1")
    # Nothing of the test run's paths: PYTHONPATH would lend it the server's sources.
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "EXECUTION_"))}
    ran = subprocess.run([str(CONSOLE_SCRIPT), *CALL_TIMEOUT, "--address", address, "order", order.order_id],
                         env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert ran.returncode == 0, ran.stderr
    fields = {name: value.strip() for name, value in (line.split(":", 1) for line in ran.stdout.strip().split("\n"))}
    assert fields["order_id"] == order.order_id and fields["quantity"] == "0.5"
    missing = subprocess.run([str(CONSOLE_SCRIPT), *CALL_TIMEOUT, "--address", address, "order",
                              "00000000-0000-4000-8000-000000000000"], env=environment, capture_output=True,
                             text=True, timeout=RUN_TIMEOUT)
    assert missing.returncode == 3
