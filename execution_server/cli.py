"""`execution-server serve | migrate | check-config | health | hash-token | alpaca-emulator`; `python -m execution_server` is the same."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from execution_server.config import ConfigError, Settings, load_settings, replace

log = logging.getLogger("execution_server")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="execution-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the gRPC API (migrates the database first)")
    serve.add_argument("--no-migrate", action="store_true", help="refuse to start unless the schema is at head")
    commands.add_parser("migrate", help="bring the database schema to head")
    commands.add_parser("check-config", help="validate the configuration and print it, secrets masked")
    health = commands.add_parser("health", help="ask a running server's grpc.health.v1 service; exit 0 if SERVING")
    health.add_argument("--address", default=None, help="host:port (default: EXECUTION_GRPC_ADDRESS)")
    health.add_argument("--ca-file", type=Path, default=None, help="TLS: the CA that signed the server's certificate")
    health.add_argument("--cert-file", type=Path, default=None, help="mutual TLS: this client's certificate")
    health.add_argument("--key-file", type=Path, default=None, help="mutual TLS: this client's private key")
    health.add_argument("--server-name", default=None, help="TLS: the name the server's certificate holds, if not the address's host")
    commands.add_parser("hash-token", help="read a token from stdin, print its SHA-256 for [[auth.tokens]] sha256")
    emulator = commands.add_parser("alpaca-emulator", help="serve a loopback emulator of Alpaca's Trading API")
    emulator.add_argument("--port", type=int, required=True, help="REST and stream port (0: a free one)")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--key", default="KEY", help="the API key id clients must send")
    emulator.add_argument("--secret", default="SECRET", help="the API secret clients must send")
    emulator.add_argument("--strict-stream", action="store_true", help="HTTP 429 on a second stream connection")
    emulator.add_argument("--rate-limit", type=int, default=None, help="requests per minute, then 429")
    arguments = parser.parse_args(argv)
    if arguments.command == "health":
        try:
            credentials = _health_credentials(arguments)
        except (OSError, ValueError) as error:
            print(f"execution-server health: {error}", file=sys.stderr)
            return 2
        return asyncio.run(_health(arguments.address, credentials, arguments.server_name))
    if arguments.command == "alpaca-emulator":
        return asyncio.run(_alpaca_emulator(arguments))
    if arguments.command == "hash-token":
        return _hash_token()
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"execution-server: invalid configuration: {error}", file=sys.stderr)
        return 2
    if arguments.command in ("serve", "check-config"):
        try:  # serve refuses it again (Application.start); check-config says so beforehand
            _check_open_access(settings)
        except ConfigError as error:
            print(f"execution-server: invalid configuration: {error}", file=sys.stderr)
            return 2
    _configure_logging(settings.log_level, settings.log_format)
    if arguments.command == "check-config":
        print(json.dumps(settings.masked(), indent=2))  # JSON: sections as objects, Decimals as strings
        return 0
    if arguments.command == "migrate":
        asyncio.run(_migrate(settings))
        print(f"database at head: {settings.masked()['database_url']}")
        return 0
    if arguments.no_migrate:
        settings = replace(settings, migrate_on_start=False)
    return asyncio.run(_serve(settings))


def _check_open_access(settings: Settings) -> None:
    from execution_server.auth.open_access import check_open_access
    from execution_server.auth.tokens import parse_auth

    if parse_auth(settings.auth) is None:
        check_open_access(settings.grpc_address, settings.trading_mode)


def _hash_token() -> int:
    # Read from stdin, never an argument: arguments end up in shell history and `ps`.
    from execution_server.auth.tokens import hash_token

    token = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    problem = _unusable_token(token)
    if problem:
        print(f"execution-server: hash-token: {problem}", file=sys.stderr)
        return 2
    print(hash_token(token))
    return 0


def _unusable_token(token: str) -> str:
    """Why clients could never send this token as `authorization: Bearer <token>`, or ""."""
    if not token:
        return "no token on stdin (an empty token is refused)"
    if token != token.strip():
        return "the token starts or ends with whitespace, which clients' metadata does not keep"
    if not all(" " < character <= "~" for character in token):
        return "a token is printable ASCII without spaces (one line, as metadata carries it)"
    return ""


def _health_credentials(arguments: argparse.Namespace) -> Any:
    """TLS channel credentials from --ca-file (and, for mutual TLS, --cert-file and --key-file);
    None: plaintext."""
    if arguments.ca_file is None:
        if arguments.cert_file or arguments.key_file:
            raise ValueError("--cert-file and --key-file need --ca-file")
        return None
    if (arguments.cert_file is None) != (arguments.key_file is None):
        raise ValueError("--cert-file and --key-file go together")
    import grpc

    return grpc.ssl_channel_credentials(
        root_certificates=arguments.ca_file.read_bytes(),
        private_key=arguments.key_file.read_bytes() if arguments.key_file else None,
        certificate_chain=arguments.cert_file.read_bytes() if arguments.cert_file else None,
    )


async def _health(address: str | None, credentials: Any = None, server_name: str | None = None) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from execution_server.config import DEFAULT_GRPC_ADDRESS

    target = address or os.environ.get("EXECUTION_GRPC_ADDRESS", DEFAULT_GRPC_ADDRESS)
    target = target.replace("0.0.0.0:", "127.0.0.1:")
    if credentials is None:
        channel = grpc.aio.insecure_channel(target)
    else:
        options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
        channel = grpc.aio.secure_channel(target, credentials, options=options)
    try:
        async with channel:
            response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
    except grpc.aio.AioRpcError as error:
        print(f"{target}: {error.code().name}", file=sys.stderr)
        return 1
    serving = response.status == health_pb2.HealthCheckResponse.SERVING
    print(f"{target}: {health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)}")
    return 0 if serving else 1


async def _migrate(settings: Settings) -> None:
    from execution_server.store.database import create_engine
    from execution_server.store.migrate import upgrade_to_head

    engine = create_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def _serve(settings: Settings) -> int:
    from execution_server.app import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await serve(settings, stop)
    except ConfigError as error:
        print(f"execution-server: invalid configuration: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"execution-server: cannot start: {error}", file=sys.stderr)
        return 1
    return 0


async def _alpaca_emulator(arguments: argparse.Namespace) -> int:
    # Needs no settings and no database: a user tries EXECUTION_BROKER=alpaca without keys.
    from execution_server.brokers.alpaca.emulator import EmulatorConfig, EmulatorServer

    config = EmulatorConfig(
        key=arguments.key, secret=arguments.secret, strict_stream=arguments.strict_stream,
        rate_limit_per_minute=arguments.rate_limit,
    )
    server = EmulatorServer(config)
    try:
        await server.start(arguments.host, arguments.port)
    except OSError as error:
        print(f"execution-server: cannot start the Alpaca emulator: {error}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"alpaca emulator: REST {server.rest_url} stream {server.stream_url} "
          f"control {server.rest_url}/_emulator/", flush=True)
    await stop.wait()
    await server.stop()
    return 0


def _configure_logging(level: str, log_format: str = "text") -> None:
    from execution_server.observability.logs import configure_logging

    configure_logging(level, log_format, sys.stderr)
