"""The server as a client meets it: reflection, health, the error model, every RPC present."""

from __future__ import annotations


import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from execution.v1 import execution_pb2 as pb
from execution_server.api.server import EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE


async def test_reflection_lists_every_service(client) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for response in stub.ServerReflectionInfo(requests()):
        names = {service.name for service in response.list_services_response.service}
        break
    assert {
        "execution.v1.ExecutionService",
        "execution.v1.RiskService",
        "execution.v1.SimulatorService",
        "grpc.health.v1.Health",
    } <= names


async def test_health_answers_serving_once_started(client) -> None:
    stub = health_pb2_grpc.HealthStub(client.channel)
    overall = await stub.Check(health_pb2.HealthCheckRequest(service=""))
    execution = await stub.Check(health_pb2.HealthCheckRequest(service="execution.v1.ExecutionService"))
    assert overall.status == execution.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("service", [EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE], ids=lambda s: s.name)
async def test_every_rpc_of_the_contract_is_implemented(client, service) -> None:
    """Walk the descriptors: an empty request to each method must reach an implementation
    (any answer but UNIMPLEMENTED)."""
    from google.protobuf.message_factory import GetMessageClass

    for method in service.methods:
        path = f"/{service.full_name}/{method.name}"
        request = GetMessageClass(method.input_type)()
        response_class = GetMessageClass(method.output_type)
        kwargs = dict(request_serializer=type(request).SerializeToString, response_deserializer=response_class.FromString)
        try:
            if method.server_streaming:
                call = client.channel.unary_stream(path, **kwargs)(request, timeout=0.5)
                async for _ in call:
                    break
            else:
                await client.channel.unary_unary(path, **kwargs)(request, timeout=5)
        except grpc.aio.AioRpcError as error:
            assert error.code() != grpc.StatusCode.UNIMPLEMENTED, path
            assert error.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), (path, error.details())


async def test_invalid_order_names_each_bad_field_and_writes_nothing(client) -> None:
    request = pb.PlaceOrderRequest(symbol="", side=pb.SIDE_UNSPECIFIED, quantity="-3", order_type=pb.ORDER_TYPE_LIMIT)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.execution.PlaceOrder(request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(refused.value)
    assert status is not None and status.code == code_pb2.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    fields = {violation.field for violation in bad_request.field_violations}
    assert fields == {"strategy_id", "symbol", "side", "quantity", "limit_price"}
    listed = await client.execution.ListOrders(pb.ListOrdersRequest())
    assert list(listed.orders) == []


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "1e400"}, "quantity"),
        ({"quantity": "0.0000000000001"}, "quantity"),
        ({"order_type": pb.ORDER_TYPE_LIMIT}, "limit_price"),
        ({"order_type": pb.ORDER_TYPE_STOP}, "stop_price"),
        ({"limit_price": "10"}, "limit_price"),
        ({"symbol": "not a symbol"}, "symbol"),
        ({"client_order_id": "has space"}, "client_order_id"),
        ({"time_in_force": 99}, "time_in_force"),
    ],
)
async def test_each_invalid_field_is_named(client, fields, bad_field) -> None:
    request = pb.PlaceOrderRequest(
        **{"strategy_id": "s", "symbol": "AAPL", "side": pb.SIDE_BUY, "quantity": "1", "order_type": pb.ORDER_TYPE_MARKET, **fields}
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.execution.PlaceOrder(request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    rpc_status.from_call(refused.value).details[0].Unpack(bad_request)
    assert [violation.field for violation in bad_request.field_violations] == [bad_field]


async def test_unknown_order_is_not_found(client) -> None:
    for call in (client.execution.GetOrder, client.execution.CancelOrder):
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await call(pb.GetOrderRequest(order_id="00000000-0000-4000-8000-000000000000") if call is client.execution.GetOrder else pb.CancelOrderRequest(client_order_id="nope"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_page_token_from_elsewhere_is_an_invalid_argument(client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.execution.ListOrders(pb.ListOrdersRequest(page_token="garbage!"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_reconcile_runs_are_kept_and_read_back_newest_first(client) -> None:
    await client.execution.Reconcile(pb.ReconcileRequest())
    await client.execution.Reconcile(pb.ReconcileRequest(repair=True))
    runs = (await client.execution.ListReconcileRuns(pb.ListReconcileRunsRequest(limit=5))).runs
    assert [(run.trigger, run.repair) for run in runs] == [("rpc", True), ("rpc", False), ("startup", True)]
    assert [run.run_id for run in runs] == sorted((run.run_id for run in runs), reverse=True)
