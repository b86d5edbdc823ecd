"""A TCP proxy that drops a connection once no byte has crossed it for a while, as load
balancers, NAT gateways and firewalls do with idle connections."""

from __future__ import annotations

import asyncio
import contextlib


class IdleDroppingProxy:
    def __init__(self, upstream_port: int, idle_seconds: float) -> None:
        self._upstream_port = upstream_port
        self._idle_seconds = idle_seconds
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0
        self.dropped = 0  # connections dropped for being idle

    async def __aenter__(self) -> IdleDroppingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for connection in list(self._connections):
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        loop = asyncio.get_running_loop()
        last_byte = loop.time()

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal last_byte
            while data := await reader.read(65536):
                last_byte = loop.time()
                writer.write(data)
                await writer.drain()

        pumps = [asyncio.ensure_future(pump(client_reader, upstream_writer)), asyncio.ensure_future(pump(upstream_reader, client_writer))]
        try:
            while not any(p.done() for p in pumps):
                await asyncio.sleep(self._idle_seconds / 10)
                if loop.time() - last_byte > self._idle_seconds:
                    self.dropped += 1
                    break
        finally:
            for p in pumps:
                p.cancel()
            for writer in (client_writer, upstream_writer):
                writer.transport.abort()  # a reset, as a middlebox that forgot the connection
            with contextlib.suppress(Exception):
                await asyncio.gather(*pumps, return_exceptions=True)
            self._connections.discard(task)
