"""What the edge refuses (issue 20, "Input limits"): each defect found by fuzzing, and the rule
behind it, over every RPC. Every refusal is INVALID_ARGUMENT naming the field, writes nothing,
and quotes the bad value only as a short excerpt."""

from __future__ import annotations

import base64
import json
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2, simulator_pb2
from execution_server.config import Settings
from execution_server.store import tables
from tests.harness import Client, running
from tests.rpcs import Rpc, bad_fields, call_raw, every_rpc, every_string_field, string_field_with_bytes

UNKNOWN_ORDER_ID = "00000000-0000-4000-8000-000000000000"


async def rows(client: Client) -> tuple[int, int]:
    """(orders, order events) in the database."""
    async with client.app.engine.connect() as conn:
        orders = (await conn.execute(select(func.count()).select_from(tables.orders))).scalar_one()
        events = (await conn.execute(select(func.count()).select_from(tables.order_events))).scalar_one()
    return orders, events


async def refused(call: Any, request: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        result = call(request, timeout=10)  # a stream that should have been refused ends too
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass
        else:
            await result
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value
    return raised.value


def forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        base64.urlsafe_b64encode(b'{"after": Infinity, "filters": "||"}').decode(),
        base64.urlsafe_b64encode(b'{"after": 1e400, "filters": "||"}').decode(),
        forged({"after": 9223372036854775808, "filters": "||"}),
        forged({"after": -1, "filters": "||"}),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        "1." + "A" * 75,
        "garbage!",
    ],
    ids=["inf", "1e400", "2**63", "negative", "5000 brackets", "well-formed, unsigned", "junk"],
)
async def test_a_forged_page_token_is_an_invalid_page_token(client: Client, token: str) -> None:
    error = await refused(client.execution.ListOrders, pb.ListOrdersRequest(page_token=token))
    assert bad_fields(error) == ["page_token"]
    assert len(error.details()) < 200


async def test_a_tampered_page_token_is_refused_and_a_real_one_pages(client: Client) -> None:
    placed = [await client.place(client_order_id=f"page-{n}") for n in range(3)]
    first = await client.execution.ListOrders(pb.ListOrdersRequest(page_size=2))
    assert first.next_page_token
    rest = await client.execution.ListOrders(pb.ListOrdersRequest(page_size=2, page_token=first.next_page_token))
    assert [o.order_id for o in [*first.orders, *rest.orders]] == [o.order_id for o in placed] and not rest.next_page_token
    token = first.next_page_token
    flipped = token[:10] + ("B" if token[10] != "B" else "C") + token[11:]
    assert bad_fields(await refused(client.execution.ListOrders, pb.ListOrdersRequest(page_token=flipped))) == ["page_token"]
    other_filters = pb.ListOrdersRequest(page_size=2, page_token=token, symbol="MSFT")
    assert "different filters" in (await refused(client.execution.ListOrders, other_filters)).details()


async def test_a_page_token_from_before_a_restart_says_to_start_again(settings: Settings) -> None:
    async with running(settings) as client:
        for n in range(3):
            await client.place(client_order_id=f"restart-{n}")
        token = (await client.execution.ListOrders(pb.ListOrdersRequest(page_size=1))).next_page_token
    async with running(settings) as client:
        error = await refused(client.execution.ListOrders, pb.ListOrdersRequest(page_size=1, page_token=token))
        assert bad_fields(error) == ["page_token"]
        assert "start the listing again" in error.details()


@pytest.mark.parametrize(
    ("call", "request_", "field"),
    [
        ("GetOrder", pb.GetOrderRequest(order_id="a\0"), "order_id"),
        ("ListOrders", pb.ListOrdersRequest(strategy_id="\0"), "strategy_id"),
        ("CancelOrder", pb.CancelOrderRequest(order_id="a\0"), "order_id"),
        ("SetKillSwitch", risk_pb2.SetKillSwitchRequest(engaged=True, reason="halt\0"), "reason"),
        ("PlaceOrder", pb.PlaceOrderRequest(client_order_id="abc\n", strategy_id="s", symbol="AAPL",
                                            side=pb.SIDE_BUY, quantity="1", order_type=pb.ORDER_TYPE_MARKET), "client_order_id"),
        ("PlaceOrder", pb.PlaceOrderRequest(strategy_id="s\n", symbol="AAPL", side=pb.SIDE_BUY, quantity="1",
                                            order_type=pb.ORDER_TYPE_MARKET), "strategy_id"),
        ("PlaceOrder", pb.PlaceOrderRequest(strategy_id="s", symbol="AAPL\n", side=pb.SIDE_BUY, quantity="1",
                                            order_type=pb.ORDER_TYPE_MARKET), "symbol"),
    ],
    ids=["GetOrder NUL", "ListOrders NUL", "CancelOrder NUL", "SetKillSwitch NUL", "client_order_id newline",
         "strategy_id newline", "symbol newline"],
)
async def test_a_control_character_is_refused_before_the_database(client: Client, call: str, request_: Any, field: str) -> None:
    before = await rows(client)
    stub = client.risk if call == "SetKillSwitch" else client.execution
    error = await refused(getattr(stub, call), request_)
    assert bad_fields(error) == [field]
    assert await rows(client) == before
    status = await client.risk.GetRiskStatus(risk_pb2.GetRiskStatusRequest())
    assert not status.kill_switch_engaged


@pytest.mark.parametrize(("rpc", "field"), list(every_string_field()), ids=lambda v: str(v))
async def test_every_string_field_of_every_rpc_refuses_a_nul(client: Client, rpc: Rpc, field: str) -> None:
    """Driven from the descriptors: a new RPC or field is covered without an edit."""
    from google.protobuf.message_factory import GetMessageClass

    request = GetMessageClass(rpc.request)(**{field: "x\0"})
    before = await rows(client)
    response = GetMessageClass(rpc.method.output_type).FromString
    make = client.channel.unary_stream if rpc.streaming else client.channel.unary_unary
    error = await refused(make(rpc.path, request_serializer=type(request).SerializeToString, response_deserializer=response),
                          request)
    assert bad_fields(error) == [field]
    assert await rows(client) == before


def test_every_string_field_of_every_request_has_a_declared_kind() -> None:
    """A new field must say its syntax in validation.FIELD_KINDS (free text is the default at
    run time, the narrowest safe reading; this makes the choice explicit)."""
    from execution_server.api.validation import FIELD_KINDS, FieldKind

    undeclared = [f"{rpc.request.full_name}.{field}" for rpc, field in every_string_field()
                  if f"{rpc.request.full_name}.{field}" not in FIELD_KINDS]
    assert undeclared == []
    assert FIELD_KINDS["execution.v1.GetOrderRequest.order_id"] is FieldKind.ORDER_ID


@pytest.mark.parametrize("quantity", ["1e3", "1E3", "1_000", "١٢", "１０", " 10", "10 ", "+10", "0x10", "NaN", "Infinity", "1.2.3", ".", ""])
async def test_a_quantity_not_in_plain_decimal_syntax_is_refused(client: Client, quantity: str) -> None:
    before = await rows(client)
    request = pb.PlaceOrderRequest(strategy_id="s", symbol="AAPL", side=pb.SIDE_BUY, quantity=quantity,
                                   order_type=pb.ORDER_TYPE_MARKET)
    assert bad_fields(await refused(client.execution.PlaceOrder, request)) == ["quantity"]
    assert await rows(client) == before


async def test_plain_decimals_are_read_as_written(client: Client) -> None:
    for quantity, shown in (("10", "10"), ("0.5", "0.5"), (".5", "0.5"), ("10.", "10"), ("007", "7")):
        order = await client.place(quantity=quantity)
        assert order.quantity == shown


@pytest.mark.parametrize("size", [6_000, 3 * 1024 * 1024])
async def test_a_huge_value_is_refused_with_a_short_message(client: Client, size: int) -> None:
    """A 6 KB value once came back twice in the trailers (RESOURCE_EXHAUSTED at the client), a
    3 MiB order_id as a 3 MiB NOT_FOUND message."""
    huge = "A" * size
    for call, request, field in (
        (client.execution.GetOrder, pb.GetOrderRequest(order_id=huge), "order_id"),
        (client.execution.GetOrder, pb.GetOrderRequest(client_order_id=huge), "client_order_id"),
        (client.execution.PlaceOrder, pb.PlaceOrderRequest(strategy_id="s", symbol=huge, side=pb.SIDE_BUY, quantity="1",
                                                           order_type=pb.ORDER_TYPE_MARKET), "symbol"),
        (client.risk.SetKillSwitch, risk_pb2.SetKillSwitchRequest(engaged=True, reason=huge), "reason"),
    ):
        error = await refused(call, request)
        assert bad_fields(error) == [field]
        assert len(error.details()) < 300, error.details()


async def test_not_found_quotes_only_an_excerpt(client: Client) -> None:
    long_id = "k" * 128
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await client.execution.GetOrder(pb.GetOrderRequest(client_order_id=long_id))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert long_id not in missing.value.details() and "128 characters" in missing.value.details()


@pytest.mark.parametrize("rpc", every_rpc(), ids=str)
async def test_undecodable_bytes_are_an_invalid_argument_on_every_rpc(client: Client, rpc: Rpc) -> None:
    before = await rows(client)
    string_fields = [field.number for field in rpc.request.fields if field.type == field.TYPE_STRING]
    payloads = [b"\xff\xff\xff", b"\x0a\x10abc"]  # a bad tag; a string field cut short
    if string_fields:
        payloads.append(string_field_with_bytes(string_fields[0], b"\xc3\x28\xff"))  # not UTF-8
    for payload in payloads:
        assert await call_raw(client.channel, rpc, payload) == grpc.StatusCode.INVALID_ARGUMENT, (rpc, payload)
    assert await rows(client) == before


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (simulator_pb2.SetPriceRequest(symbol="AAPL", price="100", available_quantity="-0"), "available_quantity"),
        (simulator_pb2.SetPriceRequest(symbol="AAPL", price="-0"), "price"),
        (simulator_pb2.SetBrokerPositionRequest(symbol="AAPL", quantity="1", average_entry_price="-0"), "average_entry_price"),
        (pb.PlaceOrderRequest(strategy_id="s", symbol="AAPL", side=pb.SIDE_BUY, quantity="-0",
                              order_type=pb.ORDER_TYPE_MARKET), "quantity"),
    ],
    ids=["available_quantity", "price", "average_entry_price", "quantity"],
)
async def test_a_sign_is_refused_where_none_is_meaningful(client: Client, request_: Any, field: str) -> None:
    stub = client.execution if isinstance(request_, pb.PlaceOrderRequest) else client.simulator
    call = getattr(stub, {"SetPriceRequest": "SetPrice", "SetBrokerPositionRequest": "SetBrokerPosition",
                          "PlaceOrderRequest": "PlaceOrder"}[type(request_).__name__])
    assert bad_fields(await refused(call, request_)) == [field]
