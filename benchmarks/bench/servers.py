"""The servers, each in a process of its own (multiprocessing, spawn), driven over a pipe.

The execution server is the real Application (simulated broker, market orders that fill at
once) on the database it is given; the bare server is grpc.aio with one unary and one
server-streaming RPC whose messages have the service's sizes (messages.sizes)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import grpc

BARE_SERVICE = "bench.Bare"
BARE_UNARY = f"/{BARE_SERVICE}/Unary"
BARE_STREAM = f"/{BARE_SERVICE}/Stream"


def _identity(payload: bytes) -> bytes:
    return payload


@dataclass
class Running:
    """A server process: its port, pid, and the pipe that drives it."""

    port: int
    pid: int
    pipe: Connection
    metrics_port: int | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ask(self, *command: Any) -> Any:
        self.pipe.send(command)
        return self.pipe.recv()

    async def ask_async(self, *command: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.ask, *command)


@asynccontextmanager
async def _process(target: Any, *args: Any) -> AsyncIterator[Running]:
    ours, theirs = get_context("spawn").Pipe()
    process = get_context("spawn").Process(target=target, args=(theirs, *args), daemon=True)
    process.start()
    loop = asyncio.get_running_loop()
    give_up = time.monotonic() + 120
    while not await loop.run_in_executor(None, ours.poll, 0.2):
        if not process.is_alive() or time.monotonic() > give_up:
            process.kill()
            raise RuntimeError(f"a server process did not start (exit code {process.exitcode}); its stderr says why")
    started = ours.recv()
    if "error" in started:
        raise RuntimeError(f"a server process failed to start: {started['error']}")
    running = Running(started["port"], process.pid, ours, started.get("metrics_port"))
    try:
        yield running
    finally:
        try:
            await running.ask_async("stop")
        finally:
            await loop.run_in_executor(None, process.join, 30)
            if process.is_alive():
                process.kill()


# --- the bare server ---


@asynccontextmanager
async def bare_server() -> AsyncIterator[Running]:
    async with _process(_bare_main) as running:
        yield running


def _bare_main(pipe: Connection) -> None:
    from benchmarks.bench.messages import pb, sizes

    measured = sizes()
    reply = b"a" * measured["PlaceOrderResponse"]
    update = b"u" * measured["OrderUpdate"]
    del pb

    async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return reply

    async def stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        # The request carries how many messages to send (0: until the client cancels).
        count = int(request or b"0")
        sent = 0
        while count == 0 or sent < count:
            yield update
            sent += 1

    async def run() -> None:
        server = grpc.aio.server()
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(unary, request_deserializer=_identity, response_serializer=_identity),
            "Stream": grpc.unary_stream_rpc_method_handler(stream, request_deserializer=_identity, response_serializer=_identity),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(BARE_SERVICE, handlers),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        pipe.send({"port": port})
        await _serve_commands(pipe, {})
        await server.stop(0)

    asyncio.run(run())


# --- the execution server ---


@asynccontextmanager
async def execution_server(
    database_url: str | None, changes: dict[str, Any] | None = None, *, record_commits: bool = False,
    log_level: str = "WARNING",
) -> AsyncIterator[Running]:
    """The real Application in a process of its own; `database_url` None: SQLite in a temp dir.
    `changes` replace settings fields (benchmarks.stream_grpc.settings_for's are the base); its
    "simulator_changes" replace fields of settings.simulator."""
    with tempfile.TemporaryDirectory(prefix="bench-server-") as directory:
        url = database_url or f"sqlite+aiosqlite:///{directory}/execution.db"
        async with _process(_execution_main, url, directory, changes or {}, record_commits, log_level) as running:
            yield running


def _execution_main(
    pipe: Connection, database_url: str, directory: str, changes: dict[str, Any], record: bool, log_level: str
) -> None:
    from benchmarks.stream_grpc import record_commits, settings_for
    from execution_server.app import Application, tune_collector
    from execution_server.config import replace
    from execution_server.observability.logs import configure_logging

    async def run() -> None:
        root = Path(directory)
        # No call is in flight when the bench stops a server: a short grace keeps the run short.
        fields = {"grace_seconds": 0.2, **changes}
        simulator = fields.pop("simulator_changes", {})
        settings = replace(settings_for(database_url, root, 10_000), **fields)
        if simulator:
            settings = replace(settings, simulator=dataclasses.replace(settings.simulator, **simulator))
        log = (root / "server.log").open("w")
        configure_logging(log_level, settings.log_format, log)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        app = Application(settings)
        try:
            await app.start()
        except Exception as error:  # noqa: BLE001 (reported to the parent, which raises)
            pipe.send({"error": repr(error)})
            return
        tune_collector()  # as `execution-server serve` does
        commits = record_commits(app) if record else []

        async def subscribers(count: int, timeout: float = 60) -> bool:
            give_up = time.monotonic() + timeout
            while app.fanout.subscriber_count != count:
                if time.monotonic() > give_up:
                    return False
                await asyncio.sleep(0.01)
            return True

        async def high_water_mark() -> int:
            return app.fanout.high_water_mark

        async def take_commits() -> list[tuple[int, float]]:
            taken = list(commits)
            commits.clear()
            return taken

        pipe.send({"port": app.port, "metrics_port": app.metrics_port})
        try:
            await _serve_commands(pipe, {
                "subscribers": subscribers, "high_water_mark": high_water_mark, "commits": take_commits,
            })
        finally:
            await app.stop()
            log.close()

    asyncio.run(run())


async def _serve_commands(pipe: Connection, commands: dict[str, Any]) -> None:
    """Answer the parent's commands until "stop" (whose answer is sent after the server stops...
    here, just before: the parent joins the process after)."""
    loop = asyncio.get_running_loop()
    while True:
        name, *args = await loop.run_in_executor(None, pipe.recv)
        if name == "stop":
            pipe.send(None)
            return
        pipe.send(await commands[name](*args))
