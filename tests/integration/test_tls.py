"""TLS and mutual TLS end to end: certificates made in the test, the service on a loopback
port, real channels; and a renewed certificate served to new connections without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution_server.api.tls import CertificateFiles
from execution_server.app import Application
from execution_server.auth.tokens import hash_token
from execution_server.config import Settings, TlsConfig
from tests.certs import Authority, channel_credentials, new_authority
from tests.harness import ORDER_DEFAULTS, settings_for


@pytest.fixture
def authority() -> Authority:
    return new_authority("desk CA")


@pytest.fixture
def server_files(tmp_path: Path, authority: Authority) -> tuple[Path, Path]:
    return authority.server("execution-server").write(tmp_path, "server")


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Application]:
    app = Application(settings)
    try:
        await app.start()
        yield app
    finally:
        await app.stop()


async def place(port: int, credentials: grpc.ChannelCredentials, **fields: object) -> pb.Order:
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        stub = execution_pb2_grpc.ExecutionServiceStub(channel)
        return (await stub.PlaceOrder(pb.PlaceOrderRequest(**{**ORDER_DEFAULTS, **fields}), timeout=10)).order


async def refused(port: int, credentials: grpc.ChannelCredentials) -> grpc.StatusCode:
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        stub = execution_pb2_grpc.ExecutionServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.ListOrders(pb.ListOrdersRequest(), timeout=10)
    return failure.value.code()


def served_certificate(port: int) -> x509.Certificate:
    """The certificate a new connection is shown (read with the standard library's TLS)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def common_name(certificate: x509.Certificate) -> str:
    return certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value  # type: ignore[return-value]


async def test_a_client_that_verifies_the_server_by_its_ca_is_served_over_tls(
    database_url: str, tmp_path: Path, authority: Authority, server_files: tuple[Path, Path]
) -> None:
    cert_file, key_file = server_files
    settings = settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert_file, key_file=key_file))
    async with serving(settings) as app:
        order = await place(app.port, channel_credentials(authority), client_order_id="over-tls")
        assert order.client_order_id == "over-tls"
        # A client that trusts another CA does not accept this server.
        assert await refused(app.port, channel_credentials(new_authority("elsewhere"))) is grpc.StatusCode.UNAVAILABLE


async def test_a_plaintext_client_is_not_served_by_a_tls_server(
    database_url: str, tmp_path: Path, server_files: tuple[Path, Path]
) -> None:
    cert_file, key_file = server_files
    settings = settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert_file, key_file=key_file))
    async with serving(settings) as app, grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await execution_pb2_grpc.ExecutionServiceStub(channel).ListOrders(pb.ListOrdersRequest(), timeout=10)
        assert failure.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.fixture
def mutual_settings(database_url: str, tmp_path: Path, authority: Authority, server_files: tuple[Path, Path]) -> Settings:
    cert_file, key_file = server_files
    client_ca = authority.write_ca(tmp_path, "client-ca")
    return settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert_file, key_file=key_file, client_ca_file=client_ca))


async def test_mutual_tls_serves_a_client_certificate_signed_by_the_client_ca(
    mutual_settings: Settings, authority: Authority
) -> None:
    async with serving(mutual_settings) as app:
        credentials = channel_credentials(authority, authority.client("momentum"))
        assert (await place(app.port, credentials, client_order_id="mtls")).client_order_id == "mtls"


async def test_mutual_tls_refuses_a_client_without_a_certificate_at_the_handshake(
    mutual_settings: Settings, authority: Authority
) -> None:
    async with serving(mutual_settings) as app:
        assert await refused(app.port, channel_credentials(authority)) is grpc.StatusCode.UNAVAILABLE
        # Below gRPC: the server ends the TLS session before the client could send a byte of HTTP/2.
        context = ssl.create_default_context(cadata=authority.cert_pem.decode())
        context.check_hostname = False
        context.set_alpn_protocols(["h2"])
        assert await asyncio.to_thread(closed_at_handshake, app.port, context)


def closed_at_handshake(port: int, context: ssl.SSLContext) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                # TLS 1.3: the client's handshake ends first; the server's refusal comes next.
                return tls.recv(1) == b""
        except (ssl.SSLError, ConnectionError):
            return True


async def test_mutual_tls_refuses_a_client_certificate_signed_by_another_ca(
    mutual_settings: Settings, authority: Authority
) -> None:
    impostor = new_authority("desk CA")  # the same name, another key
    async with serving(mutual_settings) as app:
        credentials = channel_credentials(authority, impostor.client("momentum"))
        assert await refused(app.port, credentials) is grpc.StatusCode.UNAVAILABLE


async def test_a_renewed_certificate_is_served_to_new_connections_without_a_restart(
    database_url: str, tmp_path: Path, authority: Authority, server_files: tuple[Path, Path]
) -> None:
    cert_file, key_file = server_files
    settings = settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert_file, key_file=key_file))
    async with serving(settings) as app:
        assert common_name(await asyncio.to_thread(served_certificate, app.port)) == "execution-server"
        renewing = new_authority("next year's CA")
        renewing.server("execution-server renewed").write(tmp_path, "server")  # over the same files
        assert common_name(await asyncio.to_thread(served_certificate, app.port)) == "execution-server renewed"
        order = await place(app.port, channel_credentials(renewing), client_order_id="after-renewal")
        assert order.client_order_id == "after-renewal"


async def test_a_renewed_certificate_that_does_not_load_keeps_the_one_in_use(
    database_url: str, tmp_path: Path, authority: Authority, server_files: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    cert_file, key_file = server_files
    settings = settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert_file, key_file=key_file))
    async with serving(settings) as app:
        stranger = authority.server("someone else's key")
        key_file.write_bytes(stranger.key_pem)  # the key replaced, the certificate not (yet)
        with caplog.at_level(logging.ERROR, logger="execution_server.api.tls"):
            assert common_name(await asyncio.to_thread(served_certificate, app.port)) == "execution-server"
        assert "the certificate in use is kept" in caplog.text
        order = await place(app.port, channel_credentials(authority), client_order_id="still-served")
        assert order.client_order_id == "still-served"
        # Once the certificate that goes with the new key arrives, both are served.
        stranger.write(tmp_path, "server")
        assert common_name(await asyncio.to_thread(served_certificate, app.port)) == "someone else's key"


class _AuthContextProbe(health_pb2_grpc.HealthServicer):
    """Test-only: records what grpc.aio tells a handler about its caller's certificate."""

    def __init__(self) -> None:
        self.seen: list[dict[str, list[bytes]]] = []

    async def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> health_pb2.HealthCheckResponse:
        self.seen.append(context.auth_context())
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def test_a_handler_sees_the_client_certificates_common_name_and_alternative_names(
    tmp_path: Path, authority: Authority, server_files: tuple[Path, Path]
) -> None:
    """What a client certificate standing in for a token can be matched on, through a real call."""
    cert_file, key_file = server_files
    config = TlsConfig(cert_file=cert_file, key_file=key_file, client_ca_file=authority.write_ca(tmp_path, "client-ca"))
    probe = _AuthContextProbe()
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(probe, server)
    port = server.add_secure_port("127.0.0.1:0", CertificateFiles(config).credentials())
    await server.start()
    try:
        client = authority.client("momentum", dns_names=["momentum.desk.example"], uris=["spiffe://desk/strategy/momentum_v1"])
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", channel_credentials(authority, client)) as channel:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    finally:
        await server.stop(None)
    [seen] = probe.seen
    assert seen["transport_security_type"] == [b"ssl"]
    assert seen["x509_common_name"] == [b"momentum"]
    assert seen["x509_subject_alternative_name"] == [b"momentum.desk.example", b"spiffe://desk/strategy/momentum_v1"]
    assert seen["x509_pem_cert"] == [client.cert_pem]
    assert seen["peer_dns"] == [b"momentum.desk.example"]
    assert seen["peer_spiffe_id"] == [b"spiffe://desk/strategy/momentum_v1"]


async def test_the_start_up_line_says_which_transport_is_served(
    mutual_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="execution_server.app"):
        async with serving(mutual_settings) as app:
            pass
    [line] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("serving")]
    assert f"(port {app.port}, mTLS)" in line


async def test_a_client_certificate_stands_in_for_the_token_configured_for_it(
    database_url: str, tmp_path: Path, authority: Authority, server_files: tuple[Path, Path]
) -> None:
    cert_file, key_file = server_files
    tls = TlsConfig(cert_file=cert_file, key_file=key_file, client_ca_file=authority.write_ca(tmp_path, "client-ca"))
    auth = {"tokens": [{"name": "momentum", "sha256": hash_token("momentum-token-never-sent"), "role": "strategy",
                        "strategies": ["momentum_v1"], "client_cert": "spiffe://desk/strategy/momentum_v1"}]}
    async with serving(settings_for(database_url, tmp_path, tls=tls, auth=auth)) as app:
        momentum = channel_credentials(authority, authority.client("momentum", uris=["spiffe://desk/strategy/momentum_v1"]))
        assert (await place(app.port, momentum, client_order_id="by-certificate")).strategy_id == "momentum_v1"
        async with grpc.aio.secure_channel(f"127.0.0.1:{app.port}", momentum) as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as other:
                await stub.PlaceOrder(pb.PlaceOrderRequest(**{**ORDER_DEFAULTS, "strategy_id": "meanrev_v2"}), timeout=10)
            assert other.value.code() is grpc.StatusCode.PERMISSION_DENIED
        # Signed by the client CA, but configured for no token: authenticated as no one.
        stranger = channel_credentials(authority, authority.client("intruder", dns_names=["intruder.example"]))
        assert await refused(app.port, stranger) is grpc.StatusCode.UNAUTHENTICATED


async def test_the_health_command_asks_over_mutual_tls_with_the_files_it_is_given(
    mutual_settings: Settings, authority: Authority, tmp_path: Path
) -> None:
    """The Docker HEALTHCHECK runs `execution-server health`: with TLS on, it must speak it."""
    ca_file = authority.write_ca(tmp_path, "health-ca")
    cert_file, key_file = authority.client("health-probe").write(tmp_path, "probe")
    async with serving(mutual_settings) as app:
        address = f"127.0.0.1:{app.port}"
        tls = ["--ca-file", str(ca_file), "--cert-file", str(cert_file), "--key-file", str(key_file)]
        served, plaintext = await asyncio.gather(_health_command(address, *tls), _health_command(address))
    assert served.returncode == 0 and "SERVING" in served.stdout, served
    assert plaintext.returncode == 1, plaintext


async def _health_command(address: str, *options: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "execution_server", "health", "--address", address, *options],
        capture_output=True, text=True, timeout=60,
    )
