"""Every RPC of every service × every kind of caller, with the status each must get, against a
real server with the simulated broker (SimulatorService served) on a real database.

Driven from the service descriptors: an RPC without a request here fails the test, so a new
one cannot be left out of the matrix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2, simulator_pb2
from execution_server.api.server import EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE
from tests.auth.kit import MOMENTUM_TOKEN, OPERATOR_TOKEN, UNKNOWN_TOKEN, auth_settings, bearer
from tests.harness import Client, running

OWN, OTHER = "momentum_v1", "pairs"  # the strategy token is momentum's
CALLERS: dict[str, tuple[str | None, str]] = {  # caller → (token, the strategy its request names)
    "no token": (None, OWN),
    "unknown token": (UNKNOWN_TOKEN, OWN),
    "strategy, own strategy": (MOMENTUM_TOKEN, OWN),
    "strategy, other strategy": (MOMENTUM_TOKEN, OTHER),
    "operator": (OPERATOR_TOKEN, OWN),
}
# What the issue lets a strategy token call; everything else is for operators.
STRATEGY_RPCS = {"PlaceOrder", "CancelOrder", "GetOrder", "ListOrders", "StreamOrderUpdates",
                 "StreamOrderUpdateBatches", "GetPositions"}
HIDDEN_WHEN_NOT_YOURS = {"CancelOrder", "GetOrder"}  # another strategy's order: as if none existed

Build = Callable[[Client, str], Awaitable[Message]]


async def _resting(client: Client, strategy_id: str) -> pb.Order:
    """An open order that stays open: a GTC limit buy far below the price."""
    request = pb.PlaceOrderRequest(
        strategy_id=strategy_id, symbol="AAPL", side=pb.SIDE_BUY, quantity="1", order_type=pb.ORDER_TYPE_LIMIT,
        limit_price="1", time_in_force=pb.TIME_IN_FORCE_GTC,
    )
    order = (await client.execution.PlaceOrder(request, metadata=bearer(OPERATOR_TOKEN))).order
    assert order.status == pb.ORDER_STATUS_SUBMITTED
    return order


async def _constant(message: Message) -> Message:
    return message


def _fixed(message: Message) -> Build:
    return lambda client, strategy_id: _constant(message)


async def _cancel(client: Client, strategy_id: str) -> Message:
    return pb.CancelOrderRequest(order_id=(await _resting(client, strategy_id)).order_id)


async def _get(client: Client, strategy_id: str) -> Message:
    return pb.GetOrderRequest(order_id=(await _resting(client, strategy_id)).order_id)


async def _cancel_at_broker(client: Client, strategy_id: str) -> Message:
    return simulator_pb2.CancelAtBrokerRequest(broker_order_id=(await _resting(client, OWN)).broker_order_id)


REQUESTS: dict[str, Build] = {
    "/execution.v1.ExecutionService/PlaceOrder": lambda client, s: _constant(pb.PlaceOrderRequest(
        strategy_id=s, symbol="AAPL", side=pb.SIDE_BUY, quantity="1", order_type=pb.ORDER_TYPE_MARKET)),
    "/execution.v1.ExecutionService/CancelOrder": _cancel,
    "/execution.v1.ExecutionService/GetOrder": _get,
    "/execution.v1.ExecutionService/ListOrders": lambda client, s: _constant(pb.ListOrdersRequest(strategy_id=s)),
    "/execution.v1.ExecutionService/StreamOrderUpdates":
        lambda client, s: _constant(pb.StreamOrderUpdatesRequest(strategy_id=s)),
    "/execution.v1.ExecutionService/StreamOrderUpdateBatches":
        lambda client, s: _constant(pb.StreamOrderUpdateBatchesRequest(strategy_id=s)),
    "/execution.v1.ExecutionService/GetPositions": lambda client, s: _constant(pb.GetPositionsRequest(strategy_id=s)),
    "/execution.v1.ExecutionService/Reconcile": _fixed(pb.ReconcileRequest(repair=False)),
    "/execution.v1.ExecutionService/ListReconcileRuns": _fixed(pb.ListReconcileRunsRequest()),
    "/execution.v1.ExecutionService/GetAccount": _fixed(pb.GetAccountRequest()),
    "/execution.v1.RiskService/GetRiskStatus": _fixed(risk_pb2.GetRiskStatusRequest()),
    "/execution.v1.RiskService/SetKillSwitch": _fixed(risk_pb2.SetKillSwitchRequest(engaged=False, reason="matrix")),
    "/execution.v1.RiskService/GetRiskLimits": _fixed(risk_pb2.GetRiskLimitsRequest()),
    "/execution.v1.RiskService/ListOperatorActions": _fixed(risk_pb2.ListOperatorActionsRequest()),
    "/execution.v1.SimulatorService/SetPrice": _fixed(simulator_pb2.SetPriceRequest(symbol="AAPL", price="190")),
    "/execution.v1.SimulatorService/CloseSession": _fixed(simulator_pb2.CloseSessionRequest()),
    "/execution.v1.SimulatorService/SetBrokerPosition":
        _fixed(simulator_pb2.SetBrokerPositionRequest(symbol="ZZZZ", quantity="0")),
    "/execution.v1.SimulatorService/CancelAtBroker": _cancel_at_broker,
    "/execution.v1.SimulatorService/LoseEvents": _fixed(simulator_pb2.LoseEventsRequest(count=0)),
}


def expected(method_name: str, caller: str) -> grpc.StatusCode:
    token, strategy_id = CALLERS[caller]
    if token in (None, UNKNOWN_TOKEN):
        return grpc.StatusCode.UNAUTHENTICATED
    if token == OPERATOR_TOKEN:
        return grpc.StatusCode.OK
    if method_name not in STRATEGY_RPCS:
        return grpc.StatusCode.PERMISSION_DENIED
    if strategy_id == OWN:
        return grpc.StatusCode.OK
    return grpc.StatusCode.NOT_FOUND if method_name in HIDDEN_WHEN_NOT_YOURS else grpc.StatusCode.PERMISSION_DENIED


async def _call(client: Client, method: Any, path: str, request: Message, token: str | None) -> grpc.StatusCode:
    """The status of one call; a stream is OK once its first message arrives."""
    response_class = GetMessageClass(method.output_type)
    options: dict[str, Any] = {"request_serializer": type(request).SerializeToString}
    if method.server_streaming:
        call = client.channel.unary_stream(path, **options, response_deserializer=lambda b: b)(
            request, metadata=bearer(token), timeout=30
        )
        try:
            await call.read()
            return grpc.StatusCode.OK
        except grpc.aio.AioRpcError as error:
            return error.code()
        finally:
            call.cancel()
    try:
        await client.channel.unary_unary(path, **options, response_deserializer=response_class.FromString)(
            request, metadata=bearer(token), timeout=30
        )
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()


async def test_every_rpc_answers_every_kind_of_caller_as_the_contract_says(database_url: str, tmp_path: Path) -> None:
    services = [EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE]
    methods = {f"/{service.full_name}/{method.name}": method for service in services for method in service.methods}
    assert set(REQUESTS) == set(methods), "every RPC needs a request in the matrix"
    async with running(auth_settings(database_url, tmp_path)) as client:
        for strategy_id in (OWN, OTHER):  # an update of each strategy to stream
            await _resting(client, strategy_id)
        actual, wanted = {}, {}
        for path, method in methods.items():
            for caller, (token, strategy_id) in CALLERS.items():
                request = await REQUESTS[path](client, strategy_id)
                actual[path, caller] = await _call(client, method, path, request, token)
                wanted[path, caller] = expected(method.name, caller)
    assert actual == wanted
