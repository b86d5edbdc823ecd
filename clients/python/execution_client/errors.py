"""A failed call as an exception: one class per status code, carrying the code, the message and
the field violations of the google.rpc.BadRequest detail the service attaches to invalid requests.

The detail travels in the `grpc-status-details-bin` trailer as a serialised google.rpc.Status;
it is decoded with googleapis-common-protos alone (no grpcio-status).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2

_DETAILS_TRAILER = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class ExecutionError(Exception):
    """A call the service (or the transport) refused. `code` is the grpc.StatusCode."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, code: grpc.StatusCode, message: str, violations: list[FieldViolation] | None = None) -> None:
        self.code = code
        self.message = message
        self.violations = list(violations or [])
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.code.name}: {self.message}"
        if self.violations:
            text += "; " + "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        return text


class InvalidArgument(ExecutionError): ...
class NotFound(ExecutionError): ...
class AlreadyExists(ExecutionError): ...
class PermissionDenied(ExecutionError): ...
class Unauthenticated(ExecutionError): ...
class FailedPrecondition(ExecutionError): ...
class OutOfRange(ExecutionError): ...
class ResourceExhausted(ExecutionError): ...
class Unavailable(ExecutionError): ...
class DeadlineExceeded(ExecutionError): ...
class Cancelled(ExecutionError): ...
class Internal(ExecutionError): ...


ERROR_FOR_CODE: dict[grpc.StatusCode, type[ExecutionError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: Internal,
}


def error_from_rpc(error: grpc.RpcError) -> ExecutionError:
    """The ExecutionError for a failed call of either grpc API (grpc.aio or blocking)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = (error.details() if hasattr(error, "details") else None) or ""
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    kind = ERROR_FOR_CODE.get(code, ExecutionError)
    return kind(code, message, violations_in(trailers))


def violations_in(trailers: object) -> list[FieldViolation]:
    """The BadRequest field violations in a call's trailing metadata; none when absent or unreadable."""
    for key, value in trailers or ():
        if key != _DETAILS_TRAILER or not isinstance(value, bytes):
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except Exception:  # a malformed detail must not hide the error it came with
            return []
        violations: list[FieldViolation] = []
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations += [FieldViolation(v.field, v.description) for v in bad_request.field_violations]
        return violations
    return []
