"""RPC metrics: every call counted by method and final status code, and timed (a unary call to
its answer, a stream over its life). The outermost interceptor, so that what the others refuse
(a deadline already passed, a missing token) is counted too.

The wrappers are built once per method (api/wrapped_handlers.py) with their label children
bound, so a call costs two clock reads, one observe and one increment."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from execution_server.api.wrapped_handlers import WrappedHandlers
from execution_server.observability.metrics import ServiceMetrics

_CODES = {code.value[0]: code for code in grpc.StatusCode}


def final_code(context: grpc.aio.ServicerContext, error: BaseException | None) -> str:
    """The status the call ends with: the one the handler (or an abort) set, else OK on return,
    CANCELLED on cancellation, UNKNOWN on any other exception (what gRPC itself answers)."""
    if isinstance(error, (asyncio.CancelledError, GeneratorExit)):  # the client went away
        return "CANCELLED"
    code = context.code()
    if isinstance(code, int):
        code = _CODES.get(code)
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "OK" if error is None else "UNKNOWN"


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self._wrapped: WrappedHandlers[grpc.RpcMethodHandler] = WrappedHandlers()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        return self._wrapped.get(method, handler, lambda served: self._wrap(served, method.lstrip("/")))

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        count = self._counter(method)
        duration = self._metrics.child(self._metrics.rpc_duration, method)
        if handler.unary_unary is not None and inspect.iscoroutinefunction(handler.unary_unary):
            make, behaviour = grpc.unary_unary_rpc_method_handler, _timed(handler.unary_unary, count, duration)
        elif handler.unary_stream is not None and inspect.iscoroutinefunction(handler.unary_stream):
            # A stream whose writes the transport interceptor makes: a coroutine, as a unary call.
            make, behaviour = grpc.unary_stream_rpc_method_handler, _timed(handler.unary_stream, count, duration)
        elif handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            make, behaviour = grpc.unary_stream_rpc_method_handler, _timed_stream(handler.unary_stream, count, duration)
        else:
            return handler  # client streams (reflection) and synchronous handlers: not ours to time
        return make(behaviour, request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)

    def _counter(self, method: str) -> Callable[[str], None]:
        metrics, children = self._metrics, {}

        def count(code: str) -> None:
            child = children.get(code)
            if child is None:
                child = children[code] = metrics.child(metrics.rpc_requests, method, code)
            child.inc()

        return count


def _timed(behaviour: Callable[..., Awaitable[Any]], count: Callable[[str], None], duration: Any) -> Callable[..., Awaitable[Any]]:
    async def timed(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await behaviour(request, context)
        except BaseException as raised:
            error = raised
            raise
        finally:
            duration.observe(time.perf_counter() - started)
            count(final_code(context, error))

    return timed


def _timed_stream(behaviour: Callable[..., AsyncIterator[Any]], count: Callable[[str], None], duration: Any) -> Callable[..., AsyncIterator[Any]]:
    async def timed(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            async for message in behaviour(request, context):
                yield message
        except BaseException as raised:
            error = raised
            raise
        finally:
            duration.observe(time.perf_counter() - started)
            count(final_code(context, error))

    return timed
