"""The client's transport options against real servers: the bearer token on every call (and on
the order stream), TLS with a CA file, a server name override, and mutual TLS."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from execution_client import ExecutionClient, PermissionDenied, Unauthenticated, Unavailable
from execution_server.app import Application
from execution_server.config import Settings, TlsConfig
from tests.auth.kit import MOMENTUM_TOKEN, OPERATOR_TOKEN, auth_settings
from tests.certs import new_authority
from tests.harness import settings_for

ORDER = {"symbol": "AAPL", "side": "BUY", "quantity": 1}


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    app = Application(settings)
    try:
        yield f"127.0.0.1:{await app.start()}"
    finally:
        await app.stop()


async def test_the_token_is_sent_with_every_call(database_url: str, tmp_path: Path) -> None:
    async with serving(auth_settings(database_url, tmp_path)) as address:
        async with ExecutionClient(address, token=MOMENTUM_TOKEN) as strategy:
            order = await strategy.place_order(**ORDER, strategy_id="momentum_v1")
            assert (await strategy.get_order(order.order_id)).order_id == order.order_id
            assert [o.order_id async for o in strategy.list_orders()] == [order.order_id]
            with pytest.raises(PermissionDenied) as refused:
                await strategy.place_order(**ORDER, strategy_id="pairs")  # not this token's strategy
            assert refused.value.code is grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(PermissionDenied):
                await strategy.set_kill_switch(True, reason="not mine to pull")
        async with ExecutionClient(address, token=OPERATOR_TOKEN) as operator:
            assert (await operator.set_kill_switch(True, reason="desk halt")).kill_switch_engaged


async def test_no_token_or_a_wrong_one_is_unauthenticated(database_url: str, tmp_path: Path) -> None:
    async with serving(auth_settings(database_url, tmp_path)) as address:
        for token in (None, "wrong-token-0123456789"):
            async with ExecutionClient(address, token=token) as client:
                with pytest.raises(Unauthenticated) as refused:
                    await client.get_positions()
                assert refused.value.code is grpc.StatusCode.UNAUTHENTICATED


async def test_a_stream_refused_for_its_token_raises_instead_of_retrying(database_url: str, tmp_path: Path) -> None:
    async with serving(auth_settings(database_url, tmp_path)) as address:
        async with ExecutionClient(address) as anonymous:
            with pytest.raises(Unauthenticated):
                async for _ in anonymous.stream_order_updates():
                    pass
        async with ExecutionClient(address, token=MOMENTUM_TOKEN) as strategy:
            with pytest.raises(PermissionDenied):
                async for _ in strategy.stream_order_updates(strategy_id="pairs"):
                    pass


async def test_tls_with_the_servers_ca(database_url: str, tmp_path: Path) -> None:
    authority = new_authority("desk CA")
    cert, key = authority.server().write(tmp_path, "server")
    ca = authority.write_ca(tmp_path, "ca")
    settings = settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert, key_file=key))
    async with serving(settings) as address:
        async with ExecutionClient(address, tls=True, ca_file=str(ca)) as client:
            assert (await client.place_order(**ORDER, strategy_id="momentum_v1")).symbol == "AAPL"
        async with ExecutionClient(address) as plaintext:
            with pytest.raises(Unavailable):
                await plaintext.get_positions()


async def test_tls_with_a_server_name_other_than_the_address(database_url: str, tmp_path: Path) -> None:
    authority = new_authority("desk CA")
    cert, key = authority.server(dns_names=("execution.desk.internal",), ip_addresses=()).write(tmp_path, "server")
    ca = authority.write_ca(tmp_path, "ca")
    settings = settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert, key_file=key))
    async with serving(settings) as address:
        async with ExecutionClient(address, tls=True, ca_file=str(ca), server_name="execution.desk.internal") as client:
            assert await client.get_positions() == []
        async with ExecutionClient(address, tls=True, ca_file=str(ca)) as unnamed:  # 127.0.0.1 is not in the certificate
            with pytest.raises(Unavailable):
                await unnamed.get_positions()


async def test_mutual_tls_with_a_client_certificate(database_url: str, tmp_path: Path) -> None:
    authority = new_authority("desk CA")
    cert, key = authority.server().write(tmp_path, "server")
    ca = authority.write_ca(tmp_path, "ca")
    client_cert, client_key = authority.client("momentum").write(tmp_path, "client")
    settings = settings_for(database_url, tmp_path, tls=TlsConfig(cert_file=cert, key_file=key, client_ca_file=ca))
    async with serving(settings) as address:
        async with ExecutionClient(address, tls=True, ca_file=str(ca), cert_file=str(client_cert),
                                   key_file=str(client_key)) as client:
            assert await client.get_positions() == []
        async with ExecutionClient(address, tls=True, ca_file=str(ca)) as without_certificate:
            with pytest.raises(Unavailable):
                await without_certificate.get_positions()


def test_tls_options_without_tls_are_refused() -> None:
    with pytest.raises(ValueError, match="tls=True"):
        ExecutionClient("127.0.0.1:1", ca_file="ca.crt")
    with pytest.raises(ValueError, match="cert_file and key_file"):
        ExecutionClient("127.0.0.1:1", tls=True, cert_file="client.crt")
