"""`watch` in a pseudo-terminal: an order placed after it started appears, then its fill and the
position; q and Ctrl-C quit with exit 0. On a pipe it prints one line per update."""

from __future__ import annotations

import signal
import subprocess
import sys

from execution_client import BlockingExecutionClient
from tests.auth.kit import UNKNOWN_TOKEN
from tests.ctl.kit import CALL_TIMEOUT, RUN_TIMEOUT, WAIT_TIMEOUT, Terminal, ctl_environment, section


def _row_with(lines: list[str], text: str) -> list[str] | None:
    return next((line.split() for line in lines if text in line), None)


def test_watch_shows_a_new_order_then_its_fill_and_quits_on_q(address: str, service: BlockingExecutionClient) -> None:
    terminal = Terminal(address, "watch")
    try:
        terminal.wait_for_frame(lambda f: "OPEN ORDERS (0)" in f and "POSITIONS (0)" in f, "the empty view")
        order = service.place_order(symbol="AAPL", side="BUY", quantity="7", order_type="LIMIT", limit_price="180.5",
                                    time_in_force="GTC", strategy_id="momentum_v1")
        frame = terminal.wait_for_frame(
            lambda f: (_row_with(section(f, "OPEN ORDERS"), order.order_id) or [""])[-2:] == ["SUBMITTED", "0"],
            "the new order open",
        )
        assert _row_with(section(frame, "OPEN ORDERS"), order.order_id)[:7] == [
            order.order_id, "momentum_v1", "AAPL", "BUY", "LIMIT", "7", "180.5"]
        service.set_price("AAPL", "180.25")  # below the limit: the order fills at that price
        frame = terminal.wait_for_frame(
            lambda f: _row_with(section(f, "RECENT FILLS"), order.order_id) is not None
            and _row_with(section(f, "POSITIONS"), "AAPL") is not None,
            "its fill and the position",
        )
        fill = _row_with(section(frame, "RECENT FILLS"), order.order_id)
        assert fill[-5:] == ["momentum_v1", "AAPL", "BUY", "7", "180.25"]
        assert _row_with(section(frame, "OPEN ORDERS"), order.order_id) is None
        assert _row_with(section(frame, "POSITIONS"), "AAPL") == ["AAPL", "7", "180.25", "0"]
        terminal.press(b"q")
        assert terminal.wait_exit() == 0
        assert terminal.output.endswith("\x1b[?25h\x1b[?1049l")  # the cursor and the screen given back
    finally:
        terminal.close()


def test_watch_quits_on_ctrl_c_with_exit_0(address: str, service: BlockingExecutionClient) -> None:
    service.place_order(symbol="AAPL", side="BUY", quantity="1", order_type="LIMIT", limit_price="100",
                        time_in_force="GTC", strategy_id="momentum_v1")
    terminal = Terminal(address, "watch", "--strategy", "momentum_v1")
    try:
        terminal.wait_for_frame(lambda f: "OPEN ORDERS (1)" in f and "strategy momentum_v1" in f, "the open order")
        terminal.press(b"\x03")  # the terminal turns it into SIGINT for its foreground process
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()


def test_watch_shows_only_the_strategy_asked_for(address: str, service: BlockingExecutionClient) -> None:
    theirs = service.place_order(symbol="MSFT", side="BUY", quantity="2", order_type="LIMIT", limit_price="300",
                                 time_in_force="GTC", strategy_id="pairs")
    terminal = Terminal(address, "watch", "--strategy", "momentum_v1")
    try:
        mine = service.place_order(symbol="AAPL", side="BUY", quantity="3", order_type="LIMIT", limit_price="100",
                                   time_in_force="GTC", strategy_id="momentum_v1")
        frame = terminal.wait_for_frame(lambda f: mine.order_id in f, "the strategy's order")
        assert theirs.order_id not in frame
        terminal.press(b"q")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()


def test_watch_with_a_wrong_token_exits_4_and_leaves_the_screen_alone(auth_address: str) -> None:
    terminal = Terminal(auth_address, "watch", env={"EXECUTION_TOKEN": UNKNOWN_TOKEN})
    try:
        assert terminal.wait_exit() == 4
        assert "UNAUTHENTICATED" in terminal.output and "\x1b[?1049h" not in terminal.output
    finally:
        terminal.close()


def test_watch_on_a_pipe_prints_one_line_per_update(address: str, service: BlockingExecutionClient) -> None:
    first = service.place_order(symbol="AAPL", side="BUY", quantity="4", strategy_id="momentum_v1")
    process = subprocess.Popen(
        [sys.executable, "-m", "execution_client.ctl", *CALL_TIMEOUT, "watch"], env=ctl_environment(address),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []

        def read_until(text: str) -> None:
            while not any(text in line for line in lines):
                line = process.stdout.readline()  # the process ending gives "": fails below
                assert line, f"watch ended ({process.poll()}) before {text!r}: {lines} {process.stderr.read()}"
                lines.append(line)

        read_until(" fill ")  # the first order, replayed from the start of the log
        second = service.place_order(symbol="AAPL", side="SELL", quantity="4", strategy_id="momentum_v1")
        read_until(f"fill {second.order_id}")
        for line in lines:
            assert "\x1b" not in line and line.split()[0].isdigit()
        sequences = [int(line.split()[0]) for line in lines]
        assert sequences == sorted(set(sequences))
        assert any(f"fill {first.order_id}" in line and "fill=4@" in line for line in lines)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT_TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=RUN_TIMEOUT)
