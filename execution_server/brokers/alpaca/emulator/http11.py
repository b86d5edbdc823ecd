"""A small asyncio HTTP/1.1 server: keep-alive, Content-Length bodies, and the hand-over of a
websocket upgrade on the stream path, so that REST and stream share one port the way the
adapter derives them (`http://host:port` → `ws://host:port/stream`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

_MAX_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, str]  # the last value of each name
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


Handler = Callable[[Request], Awaitable[Response]]
Upgrade = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class HttpServer:
    """Serves `handler` for plain requests and gives websocket upgrades on `upgrade_path` away."""

    def __init__(self, handler: Handler, upgrade_path: str, upgrade: Upgrade) -> None:
        self._handler = handler
        self._upgrade_path = upgrade_path
        self._upgrade = upgrade
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, limit=_MAX_HEAD)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve_requests(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve_requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, headers = _parse_head(head)
            split = urlsplit(target)
            if headers.get("upgrade", "").lower() == "websocket" and split.path == self._upgrade_path:
                await self._upgrade(head, reader, writer)
                return
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            query = {name: values[-1] for name, values in parse_qs(split.query, keep_blank_values=True).items()}
            request = Request(method, unquote(split.path), query, headers, body)
            try:
                response = await self._handler(request)
            except Exception:  # the emulator's own bug: answer 500 and keep serving
                log.exception("emulator handler failed on %s %s", method, target)
                response = Response(500, b'{"message":"emulator internal error"}')
            writer.write(_render(response))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


def _render(response: Response) -> bytes:
    reason = HTTPStatus(response.status).phrase
    lines = [f"HTTP/1.1 {response.status} {reason}", f"Content-Length: {len(response.body)}"]
    if response.body:
        lines.append(f"Content-Type: {response.content_type}")
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body
