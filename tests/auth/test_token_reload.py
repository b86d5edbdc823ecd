"""SIGHUP reloads the tokens like the risk limits: new tokens are in force for the next call; a
file that does not parse keeps the old ones, with a WARNING naming the key."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution_server.auth.tokens import hash_token
from execution_server.config import replace
from tests.auth.kit import MOMENTUM_TOKEN, OPERATOR_TOKEN, TOKENS, auth_toml, bearer
from tests.harness import running, settings_for
from tests.process import ServerProcess, wait_until

NEW_TOKEN = "rotated-operator-token-0123456789"
ROTATED = [token for token in TOKENS if token["name"] != "ops"] + [
    {"name": "ops", "sha256": hash_token(NEW_TOKEN), "role": "operator"}
]


def _status_sync(address: str, token: str) -> grpc.StatusCode:
    with grpc.insecure_channel(address) as channel:
        try:
            execution_pb2_grpc.ExecutionServiceStub(channel).ListOrders(
                pb.ListOrdersRequest(), metadata=bearer(token), timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()


def test_sighup_rotates_the_tokens_and_a_bad_file_keeps_them(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(auth_toml())
    with ServerProcess(database_url, tmp_path, EXECUTION_CONFIG=str(config)) as server:
        assert _status_sync(server.address, OPERATOR_TOKEN) == grpc.StatusCode.OK
        assert _status_sync(server.address, NEW_TOKEN) == grpc.StatusCode.UNAUTHENTICATED

        config.write_text(auth_toml(ROTATED))
        assert server.process is not None
        server.process.send_signal(signal.SIGHUP)
        wait_until(lambda: _status_sync(server.address, NEW_TOKEN) == grpc.StatusCode.OK)
        assert _status_sync(server.address, OPERATOR_TOKEN) == grpc.StatusCode.UNAUTHENTICATED

        config.write_text(auth_toml(ROTATED).replace('role = "operator"', 'role = "superuser"'))
        server.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "tokens in" in server.output() and "not reloaded" in server.output())
        line = next(line for line in server.output().splitlines() if "not reloaded" in line)
        assert " WARNING " in line and "auth.tokens[2].role" in line
        assert _status_sync(server.address, NEW_TOKEN) == grpc.StatusCode.OK
        assert _status_sync(server.address, MOMENTUM_TOKEN) == grpc.StatusCode.OK
        assert NEW_TOKEN not in server.output() and OPERATOR_TOKEN not in server.output()


async def test_a_reload_cannot_turn_authentication_off(database_url: str, tmp_path: Path, caplog) -> None:
    config = tmp_path / "config.toml"
    config.write_text(auth_toml())
    settings = replace(settings_for(database_url, tmp_path, auth={"tokens": TOKENS}), config_path=config)
    async with running(settings) as client:
        config.write_text("[auth]\nenabled = false\n")
        with caplog.at_level(logging.WARNING, logger="execution_server"):
            client.app.reload()  # what the SIGHUP handler calls
        assert any("cannot be disabled by a reload" in r.getMessage() for r in caplog.records)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.execution.ListOrders(pb.ListOrdersRequest())
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
