"""What the transport asks of every call, before and after the servicer: a call that arrives with
its deadline (all but) passed is not begun, and a stream whose client has gone ends quietly.

Deadlines. gRPC cancels a handler's task when its deadline passes, but a call read with
microseconds left still starts its handler, which may have queued a change by the time the
cancellation lands (an order recorded, never sent). With less than SHORTEST_DEADLINE_SECONDS
left, nothing could be done in time, so nothing is begun: DEADLINE_EXCEEDED.

Departed clients. A stream's messages are written here rather than by gRPC's loop over the
handler's generator: when the client has reset the stream or dropped the connection, a write
fails before gRPC has noticed the call closed, and gRPC would log that failure as an ERROR with
its traceback, one per stream (a client with 100 unread streams: 100 tracebacks). Here it is
the ordinary end of a stream: the servicer's generator is closed, and the call ends as
cancelled, as it would have had gRPC noticed first.

This interceptor comes first (outermost), so that it also sees what the others wrapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc._cython import cygrpc

from execution_server.api.wrapped_handlers import WrappedHandlers

log = logging.getLogger(__name__)

SHORTEST_DEADLINE_SECONDS = 0.005  # less than a commit takes
TOO_LATE = "the call's deadline had (all but) passed when it arrived; nothing was done"
# What a write raises once the call is gone at the transport (grpc.aio has no public name for it).
_SEND_FAILED: type[BaseException] = cygrpc.ExecuteBatchError


class TransportInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        self._wrapped: WrappedHandlers[grpc.RpcMethodHandler] = WrappedHandlers()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        return self._wrapped.get(details.method, handler, wrap)


def wrap(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """The handler with the deadline check, and for a server stream its writes done here.
    Client streams (reflection) and synchronous handlers are left as they are."""
    if handler.unary_unary is not None and inspect.iscoroutinefunction(handler.unary_unary):
        return grpc.unary_unary_rpc_method_handler(
            _in_time(handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
        return grpc.unary_stream_rpc_method_handler(
            _written_here(handler.unary_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


def arrived_too_late(context: grpc.aio.ServicerContext) -> bool:
    remaining = context.time_remaining()
    return remaining is not None and remaining < SHORTEST_DEADLINE_SECONDS


def _in_time(behaviour: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if arrived_too_late(context):
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, TOO_LATE)
        return await behaviour(request, context)

    return unary


def _written_here(behaviour: Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]) -> Callable[..., Awaitable[None]]:
    async def stream(request: Any, context: grpc.aio.ServicerContext) -> None:
        if arrived_too_late(context):
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, TOO_LATE)
        try:
            async with contextlib.aclosing(behaviour(request, context)) as messages:
                async for message in messages:
                    await context.write(message)
        except _SEND_FAILED:
            log.debug("a stream ended: its client went away while it was being written to")
            raise asyncio.CancelledError from None

    return stream
