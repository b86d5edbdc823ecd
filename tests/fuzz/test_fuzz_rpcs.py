"""Hostile requests to every RPC of every service, generated from the request descriptors (a
new RPC or field is fuzzed without an edit), against a real server with the simulated broker on
SQLite or PostgreSQL. For each RPC, EXECUTION_TEST_FUZZ_REQUESTS requests (CI: 10,000, `make fuzz`):

* never UNKNOWN, INTERNAL, UNAVAILABLE or UNIMPLEMENTED, and never a crash;
* a refusal writes no row (orders and order events counted before and after it) and its
  message is short (no value echoed at length);
* a valid request sent after each hostile one succeeds.

The server is an open-access operator's (no auth configured), so hostile requests may change
its state (prices, the kill switch, broker positions): every accepted one is followed by a
settle (every broker event it caused applied) before the next count, so that a count differs
only by what a request wrote; the valid requests are ones whose success does not depend on
that state (an order placed may be REJECTED by risk; its RPC still succeeds)."""

from __future__ import annotations

import itertools
import math
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2
from execution_server.config import SimulatorConfig
from tests.conftest import POSTGRES_URL, _admin
from tests.fuzz.server_thread import ServerThread
from tests.fuzz.strategies import Known, payloads
from tests.harness import settings_for
from tests.rpcs import Rpc, every_rpc

REQUESTS_PER_RPC = int(os.environ.get("EXECUTION_TEST_FUZZ_REQUESTS", "200"))
VALID_EVERY = 5  # hostile requests between two valid ones
STREAM_BATCH = 10  # stream requests sent together, each read for a short deadline
STREAM_DEADLINE = 0.05
FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE,
             grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.DATA_LOSS}
MAX_DETAILS = 1100


@dataclass
class Fuzzed:
    server: ServerThread
    channel: grpc.Channel
    known: Known
    valid: Iterator[Callable[[], None]]
    counted: tuple[int, int] | None = None  # the rows, when nothing can have written since

    def rows(self) -> tuple[int, int]:
        if self.counted is None:
            self.counted = self.server.rows()
        return self.counted


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'execution.db'}"
        return
    name = f"fuzz_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def fuzzed(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    state = tmp_path_factory.mktemp("fuzz-state")
    server = ServerThread(settings_for(database, state, simulator=SimulatorConfig(state_path=state / "sim.jsonl"))).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        known = _seed(server, channel)
        yield Fuzzed(server, channel, known, itertools.cycle(_valid_requests(server, channel, known)))
    finally:
        channel.close()
        server.stop()


def _stub(channel: grpc.Channel, rpc: str, response: type) -> Callable[..., object]:
    return channel.unary_unary(rpc, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response.FromString)


def _seed(server: ServerThread, channel: grpc.Channel) -> Known:
    """Orders resting and filled, so that fuzzed requests can name real ones."""
    known = Known()
    place = _stub(channel, "/execution.v1.ExecutionService/PlaceOrder", pb.PlaceOrderResponse)
    for n, (order_type, price) in enumerate([(pb.ORDER_TYPE_LIMIT, "1"), (pb.ORDER_TYPE_LIMIT, "2"), (pb.ORDER_TYPE_MARKET, "")]):
        order = place(pb.PlaceOrderRequest(client_order_id=f"seed-{n}", strategy_id="momentum_v1", symbol="AAPL",
                                           side=pb.SIDE_BUY, quantity="1", order_type=order_type, limit_price=price)).order
        known.order_ids.append(order.order_id)
        known.client_order_ids.append(order.client_order_id)
        known.broker_order_ids.append(order.broker_order_id)
    server.settle()
    listed = _stub(channel, "/execution.v1.ExecutionService/ListOrders", pb.ListOrdersResponse)(pb.ListOrdersRequest(page_size=1))
    known.page_tokens.append(listed.next_page_token)
    return known


def _valid_requests(server: ServerThread, channel: grpc.Channel, known: Known) -> list[Callable[[], None]]:
    def unary(path: str, request: object, response: type) -> Callable[[], None]:
        return lambda: _stub(channel, path, response)(request, timeout=30) and None

    counter = itertools.count()

    def place() -> None:
        request = pb.PlaceOrderRequest(client_order_id=f"valid-{next(counter)}", strategy_id="fuzz", symbol="MSFT",
                                       side=pb.SIDE_BUY, quantity="1", order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
        _stub(channel, "/execution.v1.ExecutionService/PlaceOrder", pb.PlaceOrderResponse)(request, timeout=30)
        server.settle()

    def stream() -> None:
        call = channel.unary_stream("/execution.v1.ExecutionService/StreamOrderUpdates",
                                    request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=pb.StreamOrderUpdatesResponse.FromString)(
            pb.StreamOrderUpdatesRequest(after_sequence=0), timeout=30)
        assert next(call).sequence >= 1
        call.cancel()

    e = "/execution.v1.ExecutionService/"
    return [
        unary(f"{e}GetOrder", pb.GetOrderRequest(order_id=known.order_ids[0]), pb.GetOrderResponse),
        unary(f"{e}GetOrder", pb.GetOrderRequest(client_order_id=known.client_order_ids[0]), pb.GetOrderResponse),
        unary(f"{e}ListOrders", pb.ListOrdersRequest(page_size=2, strategy_id="momentum_v1", symbol="aapl"), pb.ListOrdersResponse),
        unary(f"{e}GetPositions", pb.GetPositionsRequest(strategy_id="momentum_v1"), pb.GetPositionsResponse),
        unary(f"{e}GetAccount", pb.GetAccountRequest(), pb.GetAccountResponse),
        unary(f"{e}ListReconcileRuns", pb.ListReconcileRunsRequest(limit=2), pb.ListReconcileRunsResponse),
        unary("/execution.v1.RiskService/GetRiskStatus", risk_pb2.GetRiskStatusRequest(), risk_pb2.GetRiskStatusResponse),
        unary("/execution.v1.RiskService/GetRiskLimits", risk_pb2.GetRiskLimitsRequest(strategy_id="fuzz"),
              risk_pb2.GetRiskLimitsResponse),
        place,
        stream,
    ]


def _details_short(error: grpc.RpcError) -> None:
    details = error.details() or ""  # type: ignore[attr-defined]
    assert len(details) <= MAX_DETAILS, (error.code(), details[:200], len(details))  # type: ignore[attr-defined]


def _send_unary(fuzzed: Fuzzed, rpc: Rpc, payload: bytes) -> None:
    server = fuzzed.server
    before = fuzzed.rows()
    call = fuzzed.channel.unary_unary(rpc.path, request_serializer=None, response_deserializer=None)
    try:
        call(payload, timeout=60)
    except grpc.RpcError as error:
        code = error.code()  # type: ignore[attr-defined]
        assert code not in FORBIDDEN, (str(rpc), code, error.details(), payload[:200])  # type: ignore[attr-defined]
        _details_short(error)
        fuzzed.counted = server.rows()
        assert fuzzed.counted == before, (str(rpc), code, "a refused request wrote rows", payload[:200])
        return
    fuzzed.counted = None
    server.settle()  # what the accepted request set going at the broker, applied before the next count
    if rpc.method.name == "SetKillSwitch":  # keep the market open for the valid orders that follow
        _stub(fuzzed.channel, "/execution.v1.RiskService/SetKillSwitch", risk_pb2.SetKillSwitchResponse)(
            risk_pb2.SetKillSwitchRequest(engaged=False), timeout=60)


def _send_streams(fuzzed: Fuzzed, rpc: Rpc, batch: list[bytes]) -> None:
    """Stream requests read only until a short deadline: the order streams never write."""
    server = fuzzed.server
    before = fuzzed.rows()
    make = fuzzed.channel.unary_stream(rpc.path, request_serializer=None, response_deserializer=None)
    calls = [make(payload, timeout=STREAM_DEADLINE) for payload in batch]
    for call, payload in zip(calls, batch, strict=True):
        try:
            for _ in itertools.islice(call, 3):
                pass
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            assert code not in FORBIDDEN, (str(rpc), code, error.details(), payload[:200])  # type: ignore[attr-defined]
            _details_short(error)
        finally:
            call.cancel()
    fuzzed.counted = server.rows()
    assert fuzzed.counted == before


@pytest.mark.parametrize("rpc", every_rpc(), ids=str)
def test_hostile_requests_are_refused_cleanly_and_valid_ones_still_succeed(fuzzed: Fuzzed, rpc: Rpc) -> None:
    per_example = STREAM_BATCH if rpc.streaming else 1
    sent = [0]

    @settings(max_examples=math.ceil(REQUESTS_PER_RPC / per_example), deadline=None, database=None,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(st.lists(payloads(rpc.request, fuzzed.known), min_size=per_example, max_size=per_example))
    def send(batch: list[bytes]) -> None:
        if rpc.streaming:
            _send_streams(fuzzed, rpc, batch)
        else:
            _send_unary(fuzzed, rpc, batch[0])
        sent[0] += len(batch)
        if sent[0] % VALID_EVERY < len(batch):
            next(fuzzed.valid)()  # raises unless it succeeds
            fuzzed.counted = None
        assert fuzzed.server.alive

    send()
    assert sent[0] >= REQUESTS_PER_RPC
    health = _stub(fuzzed.channel, "/execution.v1.RiskService/GetRiskStatus", risk_pb2.GetRiskStatusResponse)
    health(risk_pb2.GetRiskStatusRequest(), timeout=30)
