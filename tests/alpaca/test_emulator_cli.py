"""`execution-server alpaca-emulator`: serves where it says, until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import MarketOrderRequest

from tests.process import free_port


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_the_emulator_until_a_signal(stop: signal.Signals) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "execution_server", "alpaca-emulator", "--port", str(port), "--key", "K1",
         "--secret", "S1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once it listens
        assert f"REST http://127.0.0.1:{port}" in line and f"stream ws://127.0.0.1:{port}/stream" in line
        client = TradingClient("K1", "S1", paper=True, url_override=f"http://127.0.0.1:{port}")
        client._retry = 0
        order = client.submit_order(MarketOrderRequest(symbol="AAPL", qty=2, side="buy", time_in_force="day"))
        assert client.get_order_by_id(order.id).filled_qty == "2"
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
