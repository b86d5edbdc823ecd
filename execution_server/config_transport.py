"""How the gRPC server is reached and what one connection may take: the [server.tls] and
[server.limits] tables.

TLS is off by default (plaintext, meant for loopback); with `client_ca_file` it is mutual TLS:
a client certificate is required and verified against that CA. The limits bound what a client
can hold: message sizes, streams on one connection, connections that carry no call."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from execution_server.auth.open_access import is_loopback
from execution_server.config_fields import ConfigError, PositiveSeconds, positive_seconds

_SECTION = ConfigDict(extra="forbid")
MIB = 1024 * 1024


def readable_file(value: Any) -> Path | None:
    """A file that exists and can be read now, at start-up; empty: not set."""
    if value is None or value == "":
        return None
    if not isinstance(value, (str, Path)):
        raise ValueError(f"expected a file path, got {type(value).__name__}")
    path = Path(value).expanduser()
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise ValueError(f"cannot read {str(path)[:200]}: {error.strerror or error}") from None
    if not os.path.isfile(path):
        raise ValueError(f"{str(path)[:200]} is not a file")
    return path


def _optional_seconds(value: Any) -> float | None:
    return None if value in (None, 0, "") else positive_seconds(value)


ReadableFile = Annotated[Path | None, BeforeValidator(readable_file)]
OptionalSeconds = Annotated[float | None, BeforeValidator(_optional_seconds)]


@dataclass(frozen=True, slots=True, config=_SECTION)
class TlsConfig:
    """[server.tls]. The files are read again when they change (api/tls.py): a renewed
    certificate is served to new connections without a restart."""

    cert_file: ReadableFile = None  # PEM: the server's certificate chain
    key_file: ReadableFile = None  # PEM: its private key
    # PEM: the CA(s) that sign client certificates. Set: mutual TLS, a client certificate is required.
    client_ca_file: ReadableFile = None

    @model_validator(mode="after")
    def _complete(self) -> TlsConfig:
        if self.cert_file is not None and self.key_file is None:
            raise ConfigError("server.tls.key_file", "required with server.tls.cert_file")
        if self.key_file is not None and self.cert_file is None:
            raise ConfigError("server.tls.cert_file", "required with server.tls.key_file")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ConfigError("server.tls.client_ca_file", "mutual TLS needs the server's own cert_file and key_file too")
        return self

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None

    @property
    def mutual(self) -> bool:
        return self.client_ca_file is not None

    @property
    def mode(self) -> str:
        """For the start-up line: "mTLS", "TLS" or "plaintext"."""
        return "mTLS" if self.mutual else "TLS" if self.enabled else "plaintext"


@dataclass(frozen=True, slots=True, config=_SECTION)
class ServerLimits:
    """[server.limits]: what one client can make the server hold. The per-token caps on calls
    and streams are the authentication layer's; these are per message and per connection."""

    # A larger request is refused, RESOURCE_EXHAUSTED, before it is parsed. gRPC's own default;
    # every request of the API is a few hundred bytes, so a desk may well lower it.
    max_receive_message_bytes: Annotated[int, Field(ge=1024, le=64 * MIB)] = 4 * MIB
    # As much as a gRPC client accepts by default: a larger reply would fail at its end anyway.
    max_send_message_bytes: Annotated[int, Field(ge=1024, le=256 * MIB)] = 4 * MIB
    # Streams one connection may have open at once (HTTP/2 MAX_CONCURRENT_STREAMS); the client
    # queues those beyond until one ends, rather than the server failing them.
    max_concurrent_streams: Annotated[int, Field(ge=1, le=100_000)] = 100
    # A connection with no call in progress this long is closed (GOAWAY); a client's channel
    # reconnects by itself when it next calls. Open streams are calls: they keep theirs open.
    max_connection_idle_seconds: PositiveSeconds = 300.0
    # A connection must finish its (TLS and HTTP/2) handshake within this.
    handshake_timeout_seconds: PositiveSeconds = 20.0
    # Off by default: order streams live for days. Set, a connection older than this is asked
    # to go away (no new calls on it); its calls then have the grace period to end (none: as long
    # as they last) before it is closed.
    max_connection_age_seconds: OptionalSeconds = None
    max_connection_age_grace_seconds: OptionalSeconds = None


def plaintext_warning(grpc_address: str, tls: TlsConfig) -> str | None:
    """The start-up WARNING for plaintext on an address other machines can reach, or None."""
    if tls.enabled or is_loopback(grpc_address):
        return None
    return (f"plaintext gRPC on {grpc_address[:64]}, which is not loopback: tokens and orders cross the network "
            "unencrypted; configure [server.tls]")
