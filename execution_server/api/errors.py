"""One table from our exceptions to gRPC status codes, with google.rpc details where they help.

Nothing a client sent ever becomes UNKNOWN or INTERNAL: those are left for our own bugs.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from execution_server.api.validation import InvalidRequest
from execution_server.auth.policy import NotPermitted
from execution_server.brokers.base import BrokerError, BrokerUnavailable
from execution_server.domain.orders import InvalidFill, InvalidTransition
from execution_server.events.log import FanoutClosed, SequenceOutOfRange
from execution_server.oms.errors import ClientOrderIdConflict, InvalidPageToken, OrderNotCancellable, OrderNotFound
from execution_server.store.writer import StoreUnavailable, WriterStopped

log = logging.getLogger(__name__)
R = TypeVar("R")

_MAX_VIOLATIONS = 32  # a repeated field of many bad values is named a bounded number of times


class FailedPrecondition(Exception):
    """A valid request that the state of things forbids now, where no domain error says so."""


# Exception type → (gRPC code, google.rpc code). Order matters: the first match wins.
STATUS_OF: list[tuple[type[BaseException], grpc.StatusCode, int]] = [
    (InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    (InvalidPageToken, grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    (NotPermitted, grpc.StatusCode.PERMISSION_DENIED, code_pb2.PERMISSION_DENIED),
    (OrderNotFound, grpc.StatusCode.NOT_FOUND, code_pb2.NOT_FOUND),
    (ClientOrderIdConflict, grpc.StatusCode.ALREADY_EXISTS, code_pb2.ALREADY_EXISTS),
    (OrderNotCancellable, grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    # Reached by Reconcile with repair, when the broker reports what the order cannot take.
    (InvalidTransition, grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    (InvalidFill, grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    (BrokerUnavailable, grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    (BrokerError, grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    (StoreUnavailable, grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    (WriterStopped, grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    (SequenceOutOfRange, grpc.StatusCode.OUT_OF_RANGE, code_pb2.OUT_OF_RANGE),
]


def status_for(error: BaseException) -> status_pb2.Status | None:
    for kind, _, code in STATUS_OF:
        if isinstance(error, kind):
            status = status_pb2.Status(code=code, message=_bounded(str(error)))
            detail = _detail_for(error)
            if detail is not None:
                packed = any_pb2.Any()
                packed.Pack(detail)
                status.details.append(packed)
            return status
    return None


# Messages quote what a caller sent only through domain.quoting.excerpt; this bound is the net
# under that rule, so that no reply's trailers outgrow what a client accepts (8 KB by default).
MAX_MESSAGE = 1024


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _detail_for(error: BaseException) -> Any:
    if isinstance(error, InvalidRequest):
        return error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field, description=_bounded(problem))
                for field, problem in error.violations[:_MAX_VIOLATIONS]
            ]
        )
    if isinstance(error, InvalidPageToken):
        return error_details_pb2.BadRequest(
            field_violations=[error_details_pb2.BadRequest.FieldViolation(field="page_token", description=str(error))]
        )
    if isinstance(error, SequenceOutOfRange):
        return error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="after_sequence", description=f"oldest available sequence is {error.oldest_available}"
                )
            ]
        )
    if isinstance(error, OrderNotCancellable):
        return _precondition("ORDER_STATE", error.order_id, f"order is {error.status.value}")
    if isinstance(error, InvalidTransition):
        return _precondition(
            "ORDER_STATE", error.order_id, f"order is {error.state.value}; it cannot take the event {error.event.value}"
        )
    if isinstance(error, InvalidFill):
        return _precondition("ORDER_FILL", error.order_id, error.reason)
    return None


def _precondition(kind: str, subject: str, description: str) -> error_details_pb2.PreconditionFailure:
    return error_details_pb2.PreconditionFailure(
        violations=[error_details_pb2.PreconditionFailure.Violation(type=kind, subject=subject, description=description)]
    )


async def abort_for(context: grpc.aio.ServicerContext, error: BaseException) -> None:
    status = status_for(error)
    if status is None:
        log.exception("unexpected error while serving a call", exc_info=error)
        status = status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; see the server log")
    await context.abort_with_status(rpc_status.to_status(status))


def translate_errors(
    method: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]:
    """Wrap a unary servicer method so that our exceptions become their status codes."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except Exception as error:
            if isinstance(error, grpc.aio.AbortError):
                raise
            await abort_for(context, error)
            raise  # abort_with_status raises; this line is never reached

    return wrapper


@contextlib.asynccontextmanager
async def translate_stream_errors(context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
    """For the order streams: an invalid request or a resume point that retention deleted
    becomes its status code, and shutdown UNAVAILABLE, so that the client reconnects and
    resumes. Wraps the body of the handler, including the loop that yields its messages."""
    try:
        yield
    except FanoutClosed:
        await context.abort(grpc.StatusCode.UNAVAILABLE, "server shutting down; reconnect with after_sequence")
    except (InvalidRequest, SequenceOutOfRange, NotPermitted) as error:
        await abort_for(context, error)
