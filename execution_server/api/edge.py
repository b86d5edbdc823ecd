"""The edge of every RPC, before its servicer: bytes that are not a request, and requests whose
fields break their declared syntax (validation.check_syntax), are INVALID_ARGUMENT there, so that
no servicer, and nothing behind one, ever sees them.

server.py builds each method's handler with `request_decoder` and `checked`: a new RPC or field
is covered without an edit here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from execution_server.api.errors import abort_for
from execution_server.api.validation import InvalidRequest, check_syntax


class Undecodable:
    """What the deserializer hands over for bytes that do not parse as the request: gRPC would
    answer UNKNOWN for a deserializer that raises, and log a traceback."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


def request_decoder(request_class: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    parse = request_class.FromString

    def decode(payload: bytes) -> Message | Undecodable:
        try:
            return parse(payload)
        except DecodeError:  # truncated, a wrong wire type, bad UTF-8 in a string field
            return Undecodable(len(payload))

    return decode


def refusal(request: Message | Undecodable) -> InvalidRequest | None:
    """Why the edge refuses `request`, or None when the servicer may have it."""
    if isinstance(request, Undecodable):
        return InvalidRequest([("request", f"{request.size} bytes that do not decode as this RPC's request "
                                           "(truncated, or a string field that is not UTF-8)")])
    try:
        check_syntax(request)
    except InvalidRequest as error:
        return error
    return None


Unary = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]


def checked_unary(implementation: Unary) -> Unary:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
        refused = refusal(request)
        if refused is not None:
            await abort_for(context, refused)
        return await implementation(request, context)

    return handler


def checked_stream(implementation: Streaming) -> Streaming:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        refused = refusal(request)
        if refused is not None:
            await abort_for(context, refused)
            return
        async for message in implementation(request, context):
            yield message

    return handler
