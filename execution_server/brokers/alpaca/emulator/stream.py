"""The `trade_updates` websocket (ALPACA_API.md §5.1): authenticate → exactly one
authorization frame → listen → listening → trade_updates frames, all binary frames of JSON.

Framing, pings and the closing handshake are websockets' sans-I/O protocol; this module
feeds it the socket's bytes, so the stream can share the REST port."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from execution_server.brokers.alpaca.emulator.config import EmulatorConfig
from execution_server.brokers.alpaca.emulator.wire import encode

log = logging.getLogger(__name__)


class StreamConnection:
    """One client: its protocol state, whether it authenticated, listens, or was silenced."""

    def __init__(self, protocol: ServerProtocol, writer: asyncio.StreamWriter) -> None:
        self.protocol = protocol
        self.writer = writer
        self.authorized = False
        self.listening = False
        self.silent = False  # a zombie: the link stays up, pings answered, events never sent

    def send(self, payload: dict[str, Any]) -> None:
        self.protocol.send_binary(encode(payload))
        self.flush()

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
            elif not self.writer.is_closing():  # b"": the protocol wants the TCP stream closed
                self.writer.close()

    def close(self, code: int = 1000, reason: str = "") -> None:
        try:
            self.protocol.send_close(code, reason)
        except Exception:  # already closing
            pass
        self.flush()


class StreamHub:
    """All stream connections; `publish` sends one trade_updates event to every listener."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.connections: set[StreamConnection] = set()
        self.authentications = 0  # successful handshakes, first connection and reconnects alike
        self.refusals = 0  # authenticate messages with the wrong key or secret
        self.changed = asyncio.Event()

    def publish(self, data: dict[str, Any]) -> None:
        frame = {"stream": "trade_updates", "data": data}
        for connection in list(self.connections):
            if connection.listening and not connection.silent:
                connection.send(frame)

    def drop(self, clean: bool = False) -> int:
        """Close every connection now: with a close frame (`clean`) or by cutting the TCP link."""
        dropped = list(self.connections)
        for connection in dropped:
            if clean:
                connection.close(1011, "emulator dropped the stream")
            else:
                connection.writer.transport.abort()
        return len(dropped)

    def silence(self, silent: bool = True) -> int:
        """Mark the current connections silent (or speaking again); later connections are normal."""
        for connection in self.connections:
            connection.silent = silent
        return len(self.connections)

    async def serve(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        protocol = ServerProtocol()
        protocol.receive_data(head)
        request = protocol.events_received()[0]
        assert isinstance(request, Request)
        if self.config.strict_stream and any(c.authorized for c in self.connections):
            # Alpaca allows one trade_updates connection per account (§7.5).
            response = protocol.reject(429, "connection limit exceeded\n")
        else:
            response = protocol.accept(request)
        protocol.send_response(response)
        connection = StreamConnection(protocol, writer)
        connection.flush()
        if response.status_code != 101:
            writer.close()
            return
        self.connections.add(connection)
        try:
            await self._receive(connection, reader)
        finally:
            self.connections.discard(connection)
            self._changed()
            if not writer.is_closing():
                writer.close()

    async def _receive(self, connection: StreamConnection, reader: asyncio.StreamReader) -> None:
        protocol = connection.protocol
        while True:
            data = await reader.read(65536)
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            for event in protocol.events_received():
                if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                    self._on_message(connection, event.data)
            connection.flush()  # pongs and the closing handshake
            if not data or protocol.close_expected() or connection.writer.is_closing():
                return

    def _on_message(self, connection: StreamConnection, data: bytes) -> None:
        try:
            message = json.loads(data)
            action, body = message.get("action"), message.get("data") or {}
        except (ValueError, AttributeError):
            log.warning("stream: not a JSON object: %r", data[:200])
            return
        if action == "authenticate":
            ok = body.get("key_id") == self.config.key and body.get("secret_key") == self.config.secret
            status = "authorized" if ok else "unauthorized"
            connection.send({"stream": "authorization", "data": {"status": status, "action": "authenticate"}})
            if not ok:
                self.refusals += 1
                connection.close(1008, "unauthorized")
                return
            connection.authorized = True
            self.authentications += 1
        elif action == "listen":
            if not connection.authorized:
                connection.send({"stream": "authorization", "data": {"status": "unauthorized", "action": "listen"}})
                return
            streams = [s for s in body.get("streams", []) if s == "trade_updates"]
            connection.listening = bool(streams)
            connection.send({"stream": "listening", "data": {"streams": streams}})
        self._changed()

    def _changed(self) -> None:
        # Wake whoever waits for a connection to reach a state (tests, the in-process API).
        self.changed.set()
        self.changed = asyncio.Event()

    def listeners(self) -> int:
        return sum(1 for c in self.connections if c.listening and not c.silent)
