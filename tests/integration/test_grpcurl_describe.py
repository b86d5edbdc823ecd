"""grpcurl's `describe` shows what the protos' comments say, for a service, a method and a message,
through server reflection (the generated *_pb2 descriptors carry no comments)."""

from __future__ import annotations

from pathlib import Path

from tests.grpcurl_cli import grpcurl
from tests.process import ServerProcess


def test_describe_shows_the_protos_comments(database_url: str, tmp_path: Path) -> None:
    with ServerProcess(database_url, tmp_path) as server:
        def describe(symbol: str) -> str:
            result = grpcurl("-plaintext", server.address, "describe", symbol)
            assert result.returncode == 0, result.stderr
            return result.stdout

        service = describe("execution.v1.ExecutionService")
        assert "// ExecutionService places and tracks orders for trading strategies." in service
        # A method by its full name: upb's pool resolved only its service ("Symbol not found").
        method = describe("execution.v1.ExecutionService.PlaceOrder")
        assert "is a method" in method
        assert "// Records the order, runs pre-trade risk and submits it to the broker." in method
        message = describe("execution.v1.PlaceOrderRequest")
        assert "// Idempotency key; empty: the server makes one." in message
        # What reflection served before stays served: health, and a method of another file.
        assert "rpc Check" in describe("grpc.health.v1.Health")
        assert "is a method" in describe("execution.v1.RiskService.SetKillSwitch")
        # Replies keep the fields' proto names, as requests spell them (not lowerCamelCase).
        account = grpcurl("-plaintext", "-d", "{}", server.address, "execution.v1.ExecutionService/GetAccount")
        assert '"buying_power"' in account.stdout, account.stdout + account.stderr
