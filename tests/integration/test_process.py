"""`execution-server serve` as an operator runs it: health, a clean stop on SIGTERM, and a
crash (SIGKILL) between the broker's acceptance and our record of it."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import grpc

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from tests.process import ServerProcess, wait_until


def _health(address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execution_server", "health", "--address", address],
        capture_output=True, text=True, timeout=60,
    )


def test_serve_reports_serving_and_stops_cleanly_on_sigterm(database_url: str, tmp_path: Path) -> None:
    server = ServerProcess(database_url, tmp_path).start()
    try:
        assert "broker: simulated" in server.output()
        health = _health(server.address)
        assert health.returncode == 0 and "SERVING" in health.stdout
        with grpc.insecure_channel(server.address) as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            order = stub.PlaceOrder(
                pb.PlaceOrderRequest(strategy_id="s", symbol="AAPL", side=pb.SIDE_BUY, quantity="1",
                                     order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
            ).order
        assert server.terminate() == 0
        assert "stopping" in server.output()
    finally:
        server.__exit__()
    restarted = ServerProcess(database_url, tmp_path).start()
    try:
        with grpc.insecure_channel(restarted.address) as channel:
            again = execution_pb2_grpc.ExecutionServiceStub(channel).GetOrder(pb.GetOrderRequest(order_id=order.order_id))
        assert again.order.status == pb.ORDER_STATUS_SUBMITTED
    finally:
        restarted.terminate()


def test_crash_after_broker_acceptance_is_recovered_without_sending_again(database_url: str, tmp_path: Path) -> None:
    """The broker accepts (and journals) the order, then delays its acknowledgement; the process
    is killed in that window. On restart the order is found at the broker by client order id."""
    slow = ServerProcess(database_url, tmp_path, EXECUTION_SIMULATOR_ACK_LATENCY="30").start()
    answered: list[object] = []

    def place() -> None:
        with grpc.insecure_channel(slow.address) as channel:
            try:
                answered.append(execution_pb2_grpc.ExecutionServiceStub(channel).PlaceOrder(
                    pb.PlaceOrderRequest(client_order_id="crash-1", strategy_id="s", symbol="AAPL",
                                         side=pb.SIDE_BUY, quantity="3", order_type=pb.ORDER_TYPE_LIMIT,
                                         limit_price="1"), timeout=60))
            except grpc.RpcError as error:
                answered.append(error)

    caller = threading.Thread(target=place)
    caller.start()
    journal = tmp_path / "simulator.jsonl"
    wait_until(lambda: journal.exists() and "crash-1" in journal.read_text())
    slow.kill()
    caller.join(timeout=60)
    assert isinstance(answered[0], grpc.RpcError)  # the client never got an answer

    restarted = ServerProcess(database_url, tmp_path).start()
    try:
        with grpc.insecure_channel(restarted.address) as channel:
            order = execution_pb2_grpc.ExecutionServiceStub(channel).GetOrder(
                pb.GetOrderRequest(client_order_id="crash-1")
            ).order
        assert order.status == pb.ORDER_STATUS_SUBMITTED
        assert order.broker_order_id
        assert _acceptances(journal, "crash-1") == 1
    finally:
        restarted.terminate()


def _acceptances(journal: Path, client_order_id: str) -> int:
    import json

    records = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    # Accepted orders appear as "accepted" facts, or as "order" snapshots once the journal is compacted.
    return sum(
        1 for record in records
        if record.get("k") in ("accepted", "order") and record.get("client_order_id") == client_order_id
    )
