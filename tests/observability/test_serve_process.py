"""`execution-server serve` as `make run` starts it: JSON logs, a quiet start-up, where the
metrics are, and a bad [metrics] address refused with one line."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.process import ServerProcess, free_port, wait_until

pytestmark = pytest.mark.slow


def test_json_logs_quiet_start_up_and_the_metrics_address_printed(database_url: str, tmp_path: Path) -> None:
    metrics_port = free_port()
    server = ServerProcess(database_url, tmp_path, EXECUTION_LOG_FORMAT="json",
                           EXECUTION_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}")
    with server:
        wait_until(lambda: "metrics on" in server.output())
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            assert b"execution_rpc_requests_total" in response.read()
        assert server.terminate() == 0
    lines = server.output().splitlines()
    printed = [line for line in lines if line.startswith("execution-server ")]  # stdout, for a person
    assert f"execution-server metrics on http://127.0.0.1:{metrics_port}/metrics" in printed
    logged = [json.loads(line) for line in lines if line not in printed]
    assert logged and all({"ts", "level", "logger", "message"} <= entry.keys() for entry in logged)
    messages = [entry["message"] for entry in logged]
    assert not [m for m in messages if m.startswith(("setup plugin", "Context impl", "Will assume"))]
    assert not [m for m in messages if "setuptools" in m or "pkg_resources" in m]
    assert any(m.startswith("Running upgrade") for m in messages)  # the migrations themselves still say so


@pytest.mark.parametrize(("variable", "value"), [
    ("EXECUTION_METRICS_ADDRESS", "9464"),
    ("EXECUTION_METRICS_ADDRESS", "127.0.0.1:70000"),
    ("EXECUTION_LOG_FORMAT", "yaml"),
    ("EXECUTION_SQLITE_SYNCHRONOUS", "OFF"),
])
def test_a_bad_setting_is_refused_with_one_line_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    environment = {"PATH": "/usr/bin:/bin", variable: value,
                   "EXECUTION_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}"}
    done = subprocess.run([sys.executable, "-m", "execution_server", "serve"], env=environment,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"execution-server: invalid configuration: {variable}: ")
    assert repr(value) in done.stderr or value in done.stderr
    assert not (tmp_path / "never.db").exists()  # nothing written
