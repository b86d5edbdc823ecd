"""The server as a separate process, the way `make run` starts it: for signals and SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET, register_process_output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    def __init__(self, database_url: str, state_dir: Path, port: int | None = None, **environment: str) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = state_dir / f"server-{self.port}-{time.monotonic_ns()}.log"
        self.environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "EXECUTION_", "TRADING_"))},
            "EXECUTION_GRPC_ADDRESS": self.address,
            "EXECUTION_DATABASE_URL": database_url,
            "EXECUTION_SIMULATOR_STATE": str(state_dir / "simulator.jsonl"),
            # Held even on the simulated broker: the suite's secret scan reads this process's output.
            "ALPACA_API_KEY": ALPACA_KEY,
            "ALPACA_SECRET_KEY": ALPACA_SECRET,
            **environment,
        }
        self.process: subprocess.Popen[bytes] | None = None
        register_process_output(self.log)

    def start(self) -> ServerProcess:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "execution_server", "serve"], env=self.environment,
                stdout=output, stderr=subprocess.STDOUT,
            )
        self.wait_until_serving()
        return self

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.output()}")
            if "listening on" in self.output():
                return
            time.sleep(0.05)
        raise AssertionError(f"server did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def wait_until(condition, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    """Poll `condition()` until it holds, for a process's outcome (blocking: no event loop here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition never held")
