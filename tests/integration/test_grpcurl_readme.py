"""The README's grpcurl examples, parsed out of README.md and run in order as pasted, with the real
grpcurl binary, against `execution-server serve` in its own process (as `make run` starts it):
the README cannot drift from the service. Between them they call every RPC of every service."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import threading
from pathlib import Path

from execution.v1 import execution_pb2, risk_pb2, simulator_pb2
from grpc_health.v1 import health_pb2
from tests.grpcurl_cli import GRPCURL
from tests.process import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Talking to it with grpcurl"
README_ADDRESS = "localhost:50051"
# The README's example of a broker order id; a user pastes the one PlaceOrder printed.
BROKER_ORDER_ID = re.compile(r"sim-[0-9a-f]+-\d+")
SERVICES = [
    execution_pb2.DESCRIPTOR.services_by_name["ExecutionService"],
    risk_pb2.DESCRIPTOR.services_by_name["RiskService"],
    simulator_pb2.DESCRIPTOR.services_by_name["SimulatorService"],
]
HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"]
# grpcio-health-checking's servicer leaves Health/List unimplemented (UNIMPLEMENTED): not ours to show.
RPCS = [f"{s.full_name}/{m.name}" for s in SERVICES for m in s.methods] + [
    f"{HEALTH.full_name}/Check", f"{HEALTH.full_name}/Watch",
]
STREAMING = {f"{s.full_name}/{m.name}" for s in [*SERVICES, HEALTH] for m in s.methods if m.server_streaming}


def readme_commands(text: str) -> list[list[str]]:
    """The grpcurl commands of the README's grpcurl section, each as the shell would split it."""
    section = text[text.index(SECTION):]
    block = section[section.index("```sh\n") + len("```sh\n"):]
    block = block[:block.index("```")].replace("\\\n", " ")
    commands: list[list[str]] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quoted request spread over lines: not closed yet
            continue
        commands.append(words)
        pending = ""
    assert not pending, f"unclosed quote in the README: {pending[:80]}"
    return commands


def method_of(command: list[str]) -> str | None:
    return next((word for word in command if "/" in word and not word.startswith("{")), None)


def test_the_readme_covers_every_rpc_of_every_service() -> None:
    called = {method_of(command) for command in readme_commands(README.read_text())}
    missing = [rpc for rpc in RPCS if rpc not in called]
    assert missing == []


def test_the_readme_examples_run_as_pasted_in_order(database_url: str, tmp_path: Path) -> None:
    commands = readme_commands(README.read_text())
    assert all(command[0] == "grpcurl" for command in commands)
    outputs: list[str] = []
    broker_order_id = None
    with ServerProcess(database_url, tmp_path) as server:
        for command in commands:
            arguments = [server.address if word == README_ADDRESS else word for word in command[1:]]
            if broker_order_id is not None:
                arguments = [BROKER_ORDER_ID.sub(broker_order_id, word) for word in arguments]
            if method_of(command) in STREAMING:
                output = _first_message(arguments)
            else:
                result = subprocess.run([str(GRPCURL), *arguments], capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, f"{shlex.join(command)}\n{result.stderr}"
                output = result.stdout
            outputs.append(output)
            if method_of(command) == "execution.v1.ExecutionService/PlaceOrder":
                found = re.search(r'"broker_order_id": "([^"]+)"', output)
                assert found, output
                broker_order_id = found.group(1)
    said = dict(zip((method_of(c) or c[-1] for c in commands), outputs, strict=True))
    assert "// Records the order, runs pre-trade risk" in said["execution.v1.ExecutionService.PlaceOrder"]
    assert '"has_discrepancies": false' in said["execution.v1.ExecutionService/Reconcile"]
    assert '"sequence"' in said["execution.v1.ExecutionService/StreamOrderUpdates"]
    assert '"SERVING"' in said["grpc.health.v1.Health/Watch"]


def _first_message(arguments: list[str]) -> str:
    """A stream as a user watches it: its first message, then Ctrl-C. A stream that never sends
    is killed after a minute, and its empty output then fails the test."""
    process = subprocess.Popen([str(GRPCURL), *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.rstrip("\n") == "}":  # the end of grpcurl's first pretty-printed message
                break
    finally:
        watchdog.cancel()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert lines and lines[-1].rstrip("\n") == "}", f"{shlex.join(arguments)}: {''.join(lines)}"
    return "".join(lines)
