"""The clients' environment variables beside the server's: an operator's shell that exports
EXECUTION_ADDRESS and EXECUTION_TOKEN for execution-ctl can still start the server."""

from __future__ import annotations

from execution_server.config import load_settings


def test_the_clients_variables_are_not_refused_nor_read() -> None:
    settings = load_settings({"EXECUTION_ADDRESS": "10.0.0.9:7000", "EXECUTION_TOKEN": "operator-secret"})
    assert settings.grpc_address == "127.0.0.1:50051"  # the server listens where EXECUTION_GRPC_ADDRESS says
    assert "operator-secret" not in repr(settings)
