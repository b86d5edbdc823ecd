"""Authentication as a client and an operator meet it on a real server: health open, reflection
closed by a setting, per-token caps, the caller set for a call's whole duration, the start-up
rules of open access, and hash-token."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc, risk_pb2
from execution_server.api.authentication import AuthInterceptor
from execution_server.api.server import EXECUTION_SERVICE, GrpcServer
from execution_server.auth.principal import caller
from execution_server.auth.registry import TokenRegistry
from execution_server.auth.tokens import hash_token, parse_auth
from execution_server.config import ConfigError, SimulatorConfig, Settings, replace
from tests.auth.kit import DESK_TOKEN, MOMENTUM_TOKEN, OPERATOR_TOKEN, TOKENS, auth_settings, bearer
from tests.harness import running, settings_for
from tests.waiting import eventually

OPS = bearer(OPERATOR_TOKEN)


async def _reflection_status(channel: grpc.aio.Channel) -> grpc.StatusCode:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():  # type: ignore[no-untyped-def]
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    try:
        async for _ in stub.ServerReflectionInfo(requests()):
            return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.UNKNOWN


async def test_health_answers_without_a_token_when_auth_is_on(database_url: str, tmp_path: Path) -> None:
    async with running(auth_settings(database_url, tmp_path)) as client:
        response = await health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest())
        assert response.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.execution.ListOrders(pb.ListOrdersRequest())
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_reflection_is_open_by_default_and_not_served_when_closed(database_url: str, tmp_path: Path) -> None:
    async with running(auth_settings(database_url, tmp_path)) as client:
        assert await _reflection_status(client.channel) == grpc.StatusCode.OK
    closed = replace(auth_settings(database_url, tmp_path), reflection=False)
    async with running(closed) as client:
        assert await _reflection_status(client.channel) == grpc.StatusCode.UNIMPLEMENTED


async def test_unknown_and_missing_tokens_get_the_same_answer_which_never_echoes_the_token(
    database_url: str, tmp_path: Path
) -> None:
    async with running(auth_settings(database_url, tmp_path)) as client:
        answers = []
        for metadata in ((), bearer("guess-0123456789"), (("authorization", "guess-0123456789"),)):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=metadata)
            answers.append((refused.value.code(), refused.value.details()))
        assert len(set(answers)) == 1 and answers[0][0] == grpc.StatusCode.UNAUTHENTICATED
        assert "guess" not in answers[0][1]


# --- caps ---


async def test_a_token_past_its_open_streams_cap_is_resource_exhausted_and_others_are_not(
    database_url: str, tmp_path: Path
) -> None:
    async with running(auth_settings(database_url, tmp_path, max_open_streams=2)) as client:
        order = pb.PlaceOrderRequest(strategy_id="momentum_v1", symbol="AAPL", side=pb.SIDE_BUY, quantity="1",
                                     order_type=pb.ORDER_TYPE_LIMIT, limit_price="1", time_in_force=pb.TIME_IN_FORCE_GTC)
        await client.execution.PlaceOrder(order, metadata=OPS)

        def stream(token: str):  # type: ignore[no-untyped-def]
            return client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest(), metadata=bearer(token))

        open_streams = [stream(MOMENTUM_TOKEN), stream(MOMENTUM_TOKEN)]
        for call in open_streams:
            await call.read()  # the server is serving it: it counts
        third = stream(MOMENTUM_TOKEN)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await third.read()
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        other = stream(OPERATOR_TOKEN)
        await other.read()  # the cap is the token's own
        # A stream that ends gives its place back.
        open_streams.pop().cancel()

        async def try_one() -> grpc.StatusCode:
            call = stream(MOMENTUM_TOKEN)
            try:
                await call.read()
                open_streams.append(call)
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as error:
                return error.code()

        assert await eventually(try_one, lambda code: code == grpc.StatusCode.OK) == grpc.StatusCode.OK
        for call in [*open_streams, other]:
            call.cancel()


async def test_a_token_past_its_concurrent_rpcs_cap_is_resource_exhausted(database_url: str, tmp_path: Path) -> None:
    """The simulated broker holds each acknowledgement (ack_latency_seconds): a PlaceOrder is
    in flight meanwhile, and the token's one place is taken."""
    settings = auth_settings(database_url, tmp_path, max_concurrent_rpcs=1)
    settings = replace(settings, simulator=SimulatorConfig(state_path=tmp_path / "sim.jsonl", ack_latency_seconds=60),
                       submit_timeout_seconds=120)
    async with running(settings) as client:
        held = asyncio.ensure_future(client.execution.PlaceOrder(
            pb.PlaceOrderRequest(strategy_id="momentum_v1", symbol="AAPL", side=pb.SIDE_BUY, quantity="1",
                                 order_type=pb.ORDER_TYPE_MARKET), metadata=bearer(MOMENTUM_TOKEN)))

        async def second() -> grpc.StatusCode:
            try:
                await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=bearer(MOMENTUM_TOKEN))
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as error:
                return error.code()

        # In flight: recorded PENDING, waiting for the broker's acknowledgement.
        await eventually(lambda: client.execution.ListOrders(pb.ListOrdersRequest(), metadata=OPS),
                         lambda listed: [o.status for o in listed.orders] == [pb.ORDER_STATUS_PENDING])
        assert await second() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert not held.done()
        await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=bearer(DESK_TOKEN))  # another token's
        held.cancel()
        await eventually(second, lambda code: code == grpc.StatusCode.OK)


# --- the caller, for the whole call ---


class _Recorder(execution_pb2_grpc.ExecutionServiceServicer):
    """Records who the caller is at each step of a unary call and of a stream."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def GetOrder(self, request, context):  # type: ignore[no-untyped-def]
        self.seen.append(caller().name)
        await asyncio.sleep(0)
        self.seen.append(caller().name)
        return pb.GetOrderResponse()

    async def StreamOrderUpdates(self, request, context):  # type: ignore[no-untyped-def]
        for sequence in range(1, 4):
            await asyncio.sleep(0)
            self.seen.append(caller().name)
            yield pb.StreamOrderUpdatesResponse(sequence=sequence).SerializeToString()


async def test_the_caller_is_set_for_a_call_s_whole_duration_streams_included() -> None:
    recorder = _Recorder()
    server = GrpcServer("127.0.0.1:0", {EXECUTION_SERVICE: recorder},
                        interceptors=[AuthInterceptor(TokenRegistry(parse_auth({"tokens": TOKENS})))])
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            await stub.GetOrder(pb.GetOrderRequest(order_id=str(uuid.uuid4())), metadata=bearer(DESK_TOKEN))
            sequences = [m.sequence async for m in stub.StreamOrderUpdates(pb.StreamOrderUpdatesRequest(), metadata=OPS)]
        assert sequences == [1, 2, 3]
        assert recorder.seen == ["desk", "desk", "ops", "ops", "ops"]
        assert caller().name == "anonymous"  # nothing leaks out of the calls
    finally:
        await server.stop(0)


# --- open access: where it may start ---


async def test_open_access_starts_on_loopback_with_one_warning(database_url: str, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="execution_server")
    async with running(settings_for(database_url, tmp_path)) as client:
        await client.execution.ListOrders(pb.ListOrdersRequest())  # no token needed
    [warning] = [record for record in caplog.records if "access is open" in record.getMessage()]
    assert warning.levelno == logging.WARNING


async def test_auth_on_says_nothing_of_open_access(database_url: str, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="execution_server")
    async with running(auth_settings(database_url, tmp_path)):
        pass
    assert not [r for r in caplog.records if "access is open" in r.getMessage()]


async def test_open_access_on_a_non_loopback_address_refuses_to_start(database_url: str, tmp_path: Path, caplog) -> None:
    with pytest.raises(ConfigError) as refused:
        async with running(settings_for(database_url, tmp_path, grpc_address="0.0.0.0:0")):
            pass
    assert refused.value.setting == "EXECUTION_GRPC_ADDRESS"
    caplog.set_level(logging.WARNING, logger="execution_server")
    with_tokens = replace(auth_settings(database_url, tmp_path), grpc_address="0.0.0.0:0")
    async with running(with_tokens) as client:  # with tokens it may listen anywhere
        await client.execution.ListOrders(pb.ListOrdersRequest(), metadata=OPS)
    # ... but in plaintext it says so, once: tokens would cross the network unencrypted.
    [warning] = [r for r in caplog.records if r.getMessage().startswith("plaintext gRPC on 0.0.0.0")]
    assert warning.levelno == logging.WARNING


async def test_open_access_live_refuses_to_start(tmp_path: Path) -> None:
    live = Settings(
        grpc_address="127.0.0.1:0", database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", broker="alpaca",
        trading_mode="LIVE", alpaca_api_key="AKXXXX", alpaca_secret_key="very-secret",
        alpaca_base_url="https://api.alpaca.markets",
    )
    with pytest.raises(ConfigError) as refused:
        async with running(live):
            pass
    assert refused.value.setting == "auth"
    assert not (tmp_path / "x.db").exists()  # refused before the database or the broker


def _cli(*arguments: str, environment: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ALPACA_", "EXECUTION_", "TRADING_"))}
    env.update(environment)
    return subprocess.run([sys.executable, "-m", "execution_server", *arguments], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("environment", "setting"),
    [
        ({"EXECUTION_GRPC_ADDRESS": "0.0.0.0:0"}, "EXECUTION_GRPC_ADDRESS"),
        ({"TRADING_MODE": "LIVE", "EXECUTION_BROKER": "alpaca", "ALPACA_API_KEY": "AKXXXX",
          "ALPACA_SECRET_KEY": "very-secret", "ALPACA_BASE_URL": "https://api.alpaca.markets"}, "auth"),
    ],
    ids=["non-loopback", "live"],
)
@pytest.mark.parametrize("command", ["serve", "check-config"])
def test_serve_and_check_config_refuse_open_access_with_one_line(tmp_path: Path, command, environment, setting) -> None:
    settings = {"EXECUTION_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                "EXECUTION_GRPC_ADDRESS": "127.0.0.1:0", **environment}
    done = _cli(command, environment=settings)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"execution-server: invalid configuration: {setting}: "), line
    assert "very-secret" not in done.stderr + done.stdout
    assert not (tmp_path / "x.db").exists()


# --- hash-token ---


def test_hash_token_prints_the_sha256_of_the_token_on_stdin_without_its_newline() -> None:
    done = _cli("hash-token", environment={}, stdin="my-token\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == hash_token("my-token") + "\n"


@pytest.mark.parametrize("stdin", ["", "\n", " padded \n", "two\nlines\n"])
def test_hash_token_refuses_a_token_no_client_could_send(stdin: str) -> None:
    done = _cli("hash-token", environment={}, stdin=stdin)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
