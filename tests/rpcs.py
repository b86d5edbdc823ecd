"""Every RPC of every service, from the descriptors, and ways to call one with raw bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from execution_server.api.server import EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE

SERVICES = (EXECUTION_SERVICE, RISK_SERVICE, SIMULATOR_SERVICE)


@dataclass(frozen=True)
class Rpc:
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def request(self) -> Descriptor:
        return self.method.input_type

    @property
    def streaming(self) -> bool:
        return self.method.server_streaming

    def __str__(self) -> str:
        return f"{self.method.containing_service.name}.{self.method.name}"


def every_rpc() -> list[Rpc]:
    return [Rpc(method) for service in SERVICES for method in service.methods]


def every_string_field() -> Iterator[tuple[Rpc, str]]:
    for rpc in every_rpc():
        for field in rpc.request.fields:
            if field.type == field.TYPE_STRING:
                yield rpc, field.name


async def call_raw(channel: grpc.aio.Channel, rpc: Rpc, payload: bytes, timeout: float = 10) -> grpc.StatusCode:
    """Send `payload` as the request's bytes; the status the call ends with (streams: after at
    most one message)."""
    response = GetMessageClass(rpc.method.output_type).FromString
    try:
        if rpc.streaming:
            call = channel.unary_stream(rpc.path, request_serializer=None, response_deserializer=response)(
                payload, timeout=timeout
            )
            async for _ in call:
                call.cancel()
                return grpc.StatusCode.OK
        else:
            await channel.unary_unary(rpc.path, request_serializer=None, response_deserializer=response)(
                payload, timeout=timeout
            )
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def bad_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The fields a refusal's BadRequest detail names."""
    status = rpc_status.from_call(error)
    assert status is not None, error
    bad_request = error_details_pb2.BadRequest()
    assert status.details and status.details[0].Unpack(bad_request), status
    return [violation.field for violation in bad_request.field_violations]


def string_field_with_bytes(field_number: int, value: bytes) -> bytes:
    """The wire bytes of one length-delimited field (a string field holding `value` as is)."""
    return varint(field_number << 3 | 2) + varint(len(value)) + value


def varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)
