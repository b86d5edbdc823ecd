"""When a server may run without authentication: only on loopback, and never LIVE. Pure."""

from __future__ import annotations

import ipaddress

from execution_server.config_fields import ConfigError


def is_loopback(grpc_address: str) -> bool:
    """Whether `host:port` listens on loopback only (127.0.0.0/8, ::1, localhost). A wildcard
    (0.0.0.0, [::]) or any other name listens where others can reach it."""
    host = grpc_address.rpartition(":")[0].strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_open_access(grpc_address: str, trading_mode: str) -> None:
    """Raise a ConfigError naming the setting that forbids running without [auth]."""
    if trading_mode == "LIVE":
        raise ConfigError("auth", "TRADING_MODE=LIVE needs [auth] with at least one [[auth.tokens]]; open access is refused")
    if not is_loopback(grpc_address):
        raise ConfigError(
            "EXECUTION_GRPC_ADDRESS",
            f"{grpc_address[:64]} is not a loopback address: without [auth] only loopback (127.0.0.1, ::1, localhost) may be served",
        )
