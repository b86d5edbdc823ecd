"""The grpc.aio server: handlers, reflection, health, keepalive, TLS, limits, and a graceful stop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from execution.v1 import execution_pb2, risk_pb2, simulator_pb2
from execution_server.api import edge
from execution_server.api.documented_reflection import documented_pool
from execution_server.api.tls import CertificateFiles
from execution_server.api.transport_interceptor import TransportInterceptor
from execution_server.config_transport import ServerLimits

log = logging.getLogger(__name__)

EXECUTION_SERVICE = execution_pb2.DESCRIPTOR.services_by_name["ExecutionService"]
RISK_SERVICE = risk_pb2.DESCRIPTOR.services_by_name["RiskService"]
SIMULATOR_SERVICE = simulator_pb2.DESCRIPTOR.services_by_name["SimulatorService"]
# A health name of its own for the path of the broker's events into our books: NOT_SERVING while
# events wait to be applied (the database refuses them), so that operators see the books lag.
BROKER_EVENTS_HEALTH = "execution.v1.BrokerEvents"

def server_options(keepalive_seconds: float, limits: ServerLimits | None = None) -> list[tuple[str, Any]]:
    """Long server streams: ping every connection after `keepalive_seconds` without traffic, so
    that proxies and NATs that drop idle connections keep them open, however long no update
    comes (no limit on pings without data); and let clients ping as often as every 10 s without
    being told to go away. Then [server.limits]: message sizes, streams per connection, and
    connections closed when they carry no call or never finish their handshake."""
    limits = limits or ServerLimits()
    options: list[tuple[str, Any]] = [
        ("grpc.keepalive_time_ms", int(keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", limits.max_receive_message_bytes),
        ("grpc.max_send_message_length", limits.max_send_message_bytes),
        ("grpc.max_concurrent_streams", limits.max_concurrent_streams),
        # Count the streams HTTP/2 counts, not those whose handler is still finishing: otherwise a
        # burst beyond the cap is refused (REFUSED_STREAM, UNAVAILABLE at the client; measured: 180
        # of 300 concurrent PlaceOrders) instead of queued by the client until a stream ends.
        ("grpc.http.overload_protection", 0),
        ("grpc.max_connection_idle_ms", _ms(limits.max_connection_idle_seconds)),
        ("grpc.server_handshake_timeout_ms", _ms(limits.handshake_timeout_seconds)),
    ]
    if limits.max_connection_age_seconds is not None:
        options.append(("grpc.max_connection_age_ms", _ms(limits.max_connection_age_seconds)))
        if limits.max_connection_age_grace_seconds is not None:
            options.append(("grpc.max_connection_age_grace_ms", _ms(limits.max_connection_age_grace_seconds)))
    return options


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))

# Methods whose handler yields bytes already serialised once (the order streams' fan-out).
PRESERIALISED = {
    ("execution.v1.ExecutionService", "StreamOrderUpdates"),
    ("execution.v1.ExecutionService", "StreamOrderUpdateBatches"),
}


def _identity(payload: bytes) -> bytes:
    return payload


def method_handlers(service: ServiceDescriptor, servicer: object) -> dict[str, grpc.RpcMethodHandler]:
    """Handlers for every method of a service, from its descriptor: none can be forgotten, and
    each refuses undecodable or ill-formed requests before its servicer runs (api/edge.py)."""
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in service.methods:
        implementation = getattr(servicer, method.name)
        request_class = GetMessageClass(method.input_type)
        response_class = GetMessageClass(method.output_type)
        serialize: Callable[[Any], bytes] = response_class.SerializeToString
        if (service.full_name, method.name) in PRESERIALISED:
            serialize = _identity
        if method.server_streaming:
            make, handler = grpc.unary_stream_rpc_method_handler, edge.checked_stream(implementation)
        else:
            make, handler = grpc.unary_unary_rpc_method_handler, edge.checked_unary(implementation)
        handlers[method.name] = make(
            handler, request_deserializer=edge.request_decoder(request_class), response_serializer=serialize
        )
    return handlers


class GrpcServer:
    def __init__(
        self, address: str, services: Mapping[ServiceDescriptor, object], *, keepalive_seconds: float = 20.0,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (), reflection: bool = True,
        limits: ServerLimits | None = None, certificates: CertificateFiles | None = None,
        outer_interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    ) -> None:
        self._address = address
        self._outer = tuple(outer_interceptors)  # before the transport's: the RPC metrics see every call
        self._interceptors = tuple(interceptors)  # authentication (api/authentication.py)
        self._reflection = reflection  # False: reflection is not served at all
        self._keepalive_seconds = keepalive_seconds
        self._limits = limits
        self._certificates = certificates  # None: plaintext
        self._services = services
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self.port = 0

    async def start(self) -> int:
        # The transport's checks come first (outermost): they see every other interceptor's wrapping.
        server = grpc.aio.server(
            options=server_options(self._keepalive_seconds, self._limits),
            interceptors=[*self._outer, TransportInterceptor(), *self._interceptors],
        )
        for service, servicer in self._services.items():
            handlers = method_handlers(service, servicer)
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        if self._reflection:
            names = [service.full_name for service in self._services] + [
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ]
            # Our protos with their comments, and method names too (api/documented_reflection.py).
            reflection.enable_server_reflection(names, server, pool=documented_pool())
        if self._certificates is None:
            self.port = server.add_insecure_port(self._address)
        else:
            self.port = server.add_secure_port(self._address, self._certificates.credentials())
        if self.port == 0:
            raise OSError(f"cannot listen on {self._address}")
        await self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        await server.start()
        self._server = server
        return self.port

    async def set_serving(self) -> None:
        await self._set_all(health_pb2.HealthCheckResponse.SERVING)

    async def _set_all(self, status: int) -> None:
        await self._health.set("", status)
        await self._health.set(BROKER_EVENTS_HEALTH, status)
        for service in self._services:
            await self._health.set(service.full_name, status)

    async def set_health(self, *, store_current: bool, broker_events_current: bool) -> None:
        """The whole service is NOT_SERVING while broker events wait on the store (positions and
        orders lag the broker); the broker-events name also while the broker's stream is down
        (orders are still placed and settled over REST, so the service as a whole serves)."""
        if self._server is None:
            return
        serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
        await self._health.set("", serving if store_current else not_serving)
        await self._health.set(BROKER_EVENTS_HEALTH, serving if store_current and broker_events_current else not_serving)

    async def stop(self, grace_seconds: float) -> None:
        """Stop accepting, let in-flight calls finish within the grace period. Idempotent."""
        if self._server is None:
            return
        await self._health.enter_graceful_shutdown()
        server, self._server = self._server, None
        await server.stop(grace_seconds)

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()
