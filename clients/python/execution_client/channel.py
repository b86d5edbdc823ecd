"""How a client reaches the service: plaintext or TLS (mutual with a client certificate), the
bearer token sent with every call, and the channel's reconnection pace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc


@dataclass(frozen=True, slots=True)
class Connection:
    """Everything a channel is made from; the async and blocking clients share it."""

    address: str
    token: str | None = None
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (a client certificate and its key)")
        if not self.tls and any((self.ca_file, self.cert_file, self.server_name)):
            raise ValueError("ca_file, cert_file, key_file and server_name need tls=True")
        if self.token is not None and (not self.token or any(c.isspace() for c in self.token)):
            raise ValueError("token must be a non-empty string without spaces")

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return () if self.token is None else (("authorization", f"Bearer {self.token}"),)

    def options(self) -> list[tuple[str, Any]]:
        # gRPC's default reconnection backoff grows to 120 s; a resuming order stream should find
        # a restarted server within seconds.
        options: list[tuple[str, Any]] = [
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 5000),
        ]
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        return options

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file),  # None: the system's roots
            private_key=_read(self.key_file),
            certificate_chain=_read(self.cert_file),
        )

    def aio_channel(self) -> grpc.aio.Channel:
        if self.tls:
            return grpc.aio.secure_channel(self.address, self.credentials(), options=self.options())
        return grpc.aio.insecure_channel(self.address, options=self.options())

    def blocking_channel(self) -> grpc.Channel:
        if self.tls:
            return grpc.secure_channel(self.address, self.credentials(), options=self.options())
        return grpc.insecure_channel(self.address, options=self.options())


def _read(path: str | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()
