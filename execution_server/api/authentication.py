"""Who is calling: the bearer token (or a client certificate standing in for one) checked on
every RPC of our services, the caller's role checked against the method, and the caller set
(auth.principal.acting_as) for the whole call, a stream's included.

grpc.aio interceptors see only the method name; the metadata and the TLS peer are on the
ServicerContext. So the interceptor wraps each handler's behaviour, and the wrapped behaviour
authenticates with the call's context before the servicer runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from execution.v1 import execution_pb2, risk_pb2, simulator_pb2
from execution_server.api.wrapped_handlers import WrappedHandlers
from execution_server.auth.caps import CallCaps, CallKind
from execution_server.auth.principal import Role, acting_as, stop_acting
from execution_server.auth.registry import TokenRegistry
from execution_server.auth.tokens import AuthConfig, TokenEntry

SERVICES: tuple[ServiceDescriptor, ...] = (
    execution_pb2.DESCRIPTOR.services_by_name["ExecutionService"],
    risk_pb2.DESCRIPTOR.services_by_name["RiskService"],
    simulator_pb2.DESCRIPTOR.services_by_name["SimulatorService"],
)
# What a strategy token may call; every other method of our services needs an operator.
STRATEGY_METHODS = frozenset({
    "/execution.v1.ExecutionService/PlaceOrder",
    "/execution.v1.ExecutionService/CancelOrder",
    "/execution.v1.ExecutionService/GetOrder",
    "/execution.v1.ExecutionService/ListOrders",
    "/execution.v1.ExecutionService/StreamOrderUpdates",
    "/execution.v1.ExecutionService/StreamOrderUpdateBatches",
    "/execution.v1.ExecutionService/GetPositions",
})
# Listed as well, so that a test can insist every RPC is classified on purpose; an RPC in
# neither list is still operator-only (fail closed).
OPERATOR_METHODS = frozenset({
    "/execution.v1.ExecutionService/Reconcile",
    "/execution.v1.ExecutionService/ListReconcileRuns",
    "/execution.v1.ExecutionService/GetAccount",
    *(f"/{service.full_name}/{method.name}" for service in SERVICES[1:] for method in service.methods),
})
# Never authenticated: load balancers and `execution-server health` ask without a token.
OPEN_SERVICES = ("/grpc.health.v1.Health/",)
REFLECTION_SERVICES = ("/grpc.reflection.v1alpha.ServerReflection/", "/grpc.reflection.v1.ServerReflection/")

UNAUTHENTICATED = "missing or unknown bearer token (metadata authorization: Bearer <token>)"
OPERATOR_ONLY = "this method needs an operator token"


def access_table(services: Iterable[ServiceDescriptor] = SERVICES) -> dict[str, Role]:
    """Method path → the role it needs, from the descriptors: nothing served is left out."""
    return {
        path: Role.STRATEGY if path in STRATEGY_METHODS else Role.OPERATOR
        for service in services
        for path in (f"/{service.full_name}/{method.name}" for method in service.methods)
    }


def certificate_identities(auth_context: Mapping[str, Sequence[bytes]]) -> list[str]:
    """A verified client certificate's subject CN, then its SANs, as the TLS layer reports them."""
    values = [*auth_context.get("x509_common_name", ()), *auth_context.get("x509_subject_alternative_name", ())]
    return [value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value) for value in values]


def bearer_token(metadata: Iterable[tuple[str, Any]]) -> str | None:
    """The token of the one `authorization: Bearer <token>` entry; None if absent or malformed."""
    values = [value for key, value in metadata if key == "authorization"]
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, registry: TokenRegistry, services: Iterable[ServiceDescriptor] = SERVICES) -> None:
        self._registry = registry
        self._access = access_table(services)
        self._caps = CallCaps()
        self._wrapped: WrappedHandlers[grpc.RpcMethodHandler | None] = WrappedHandlers()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method
        if handler is None or self._registry.is_open or method.startswith(OPEN_SERVICES + REFLECTION_SERVICES):
            return handler
        required = self._access.get(method, Role.OPERATOR)
        return self._wrapped.get(method, handler, lambda served: self._wrap(served, required))  # type: ignore[return-value]

    def _wrap(self, handler: grpc.RpcMethodHandler, required: Role) -> grpc.RpcMethodHandler | None:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, required),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, required),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return None  # our services have no client streams: fail closed (UNIMPLEMENTED)

    def _unary(self, behaviour: Callable[..., Awaitable[Any]], required: Role) -> Callable[..., Awaitable[Any]]:
        async def authenticated(request: Any, context: grpc.aio.ServicerContext) -> Any:
            entry = await self._admit(context, required, CallKind.UNARY)
            acting = acting_as(entry.principal)
            try:
                return await behaviour(request, context)
            finally:
                self._caps.leave(entry.name, CallKind.UNARY)
                _stop_acting(acting)

        return authenticated

    def _stream(self, behaviour: Callable[..., AsyncIterator[Any]], required: Role) -> Callable[..., AsyncIterator[Any]]:
        async def authenticated(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            entry = await self._admit(context, required, CallKind.STREAM)
            acting = acting_as(entry.principal)
            try:
                # aclosing: the servicer's stream ends (its subscription with it) when this one does.
                async with contextlib.aclosing(behaviour(request, context)) as messages:
                    async for message in messages:
                        yield message
            finally:
                self._caps.leave(entry.name, CallKind.STREAM)
                _stop_acting(acting)

        return authenticated

    async def _admit(self, context: grpc.aio.ServicerContext, required: Role, kind: CallKind) -> TokenEntry:
        """The caller's token, counted against its cap; otherwise the call is aborted."""
        entry = self._identify(context)
        if entry is None:
            # One message for a missing and an unknown token, and never the token itself.
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED)
        assert entry is not None
        if required is Role.OPERATOR and not entry.principal.is_operator:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, OPERATOR_ONLY)
        cap = entry.max_open_streams if kind is CallKind.STREAM else entry.max_concurrent_rpcs
        if not self._caps.try_enter(entry.name, kind, cap):
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"this token has {cap} {kind.value} already; wait for one to end"
            )
        return entry

    def _identify(self, context: grpc.aio.ServicerContext) -> TokenEntry | None:
        config = self._registry.config
        assert config is not None
        return identify(config, context)


def identify(config: AuthConfig, context: grpc.aio.ServicerContext) -> TokenEntry | None:
    """The caller's token. A bearer token decides when one is sent (an unknown one is refused,
    whatever the certificate); without one, a verified client certificate configured for a
    token (mTLS: the transport must require and verify client certificates)."""
    token = bearer_token(context.invocation_metadata() or ())
    if token is not None:
        return config.by_token(token)
    if _has_authorization(context):
        return None  # sent, but not as "Bearer <token>"
    if not context.peer_identities():
        return None  # no authenticated TLS peer (plaintext, or no verified client certificate)
    return config.by_certificate(certificate_identities(context.auth_context() or {}))


def _has_authorization(context: grpc.aio.ServicerContext) -> bool:
    return any(key == "authorization" for key, _ in context.invocation_metadata() or ())


def _stop_acting(acting: Any) -> None:
    # Each RPC runs in a task of its own, with its own copy of the context; a stream closed
    # from elsewhere (its generator finalised by another task) cannot reset, and need not.
    try:
        stop_acting(acting)
    except ValueError:
        pass


__all__ = ["AuthInterceptor", "OPERATOR_METHODS", "STRATEGY_METHODS", "access_table"]
