"""A raw HTTP/2 client (h2 over a plain socket), for what a gRPC client never does: open calls
and never read their replies, hold a connection without a call, reset streams at will."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
from google.protobuf.message import Message


def grpc_message(message: Message) -> bytes:
    """A gRPC length-prefixed message: not compressed, its length, its bytes."""
    body = message.SerializeToString()
    return b"\x00" + len(body).to_bytes(4, "big") + body


class RawConnection:
    """One HTTP/2 connection to `port` on loopback; blocking calls, for a test's thread."""

    def __init__(self, port: int, *, initial_window: int | None = None, timeout: float = 30) -> None:
        self.port = port
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        if initial_window is not None:  # 0: the server may send no byte of any reply
            self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window})
        self._flush()

    def call(self, method: str, request: Message) -> int:
        """Start a unary-request call of `method` ("/package.Service/Method"); its stream id."""
        stream_id = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream_id, [
            (":method", "POST"), (":scheme", "http"), (":path", method), (":authority", f"127.0.0.1:{self.port}"),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ])
        self.h2.send_data(stream_id, grpc_message(request), end_stream=True)
        self._flush()
        return stream_id

    def reset(self, stream_ids: Iterable[int]) -> None:
        """RST_STREAM CANCEL on each, as a client that gives up on its calls."""
        for stream_id in stream_ids:
            self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        self._flush()

    def events_until_closed(self, bound: float = 30) -> list[h2.events.Event]:
        """Everything the server sends until it closes the connection; fails if it has not
        after `bound` seconds (its keepalive pings would otherwise keep a read going forever)."""
        events: list[h2.events.Event] = []
        give_up = time.monotonic() + bound
        while data := self.socket.recv(65536):
            if time.monotonic() > give_up:
                raise AssertionError(f"the server did not close the connection within {bound} s")
            events.extend(self.h2.receive_data(data))
            try:
                self._flush()  # acknowledge its SETTINGS and pings, as a live client would
            except OSError:  # the server has already gone
                break
        return events

    def close(self) -> None:
        self.socket.close()

    def _flush(self) -> None:
        pending = self.h2.data_to_send()
        if pending:
            self.socket.sendall(pending)
