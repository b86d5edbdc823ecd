"""A real server for the client package's tests: in-process on a loopback port (for the async
client), or in a thread of its own (for the blocking client, whose calls block their caller)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from execution_client import BlockingExecutionClient, ExecutionClient
from execution_server.app import Application
from execution_server.config import Settings
from tests.fuzz.server_thread import ServerThread
from tests.harness import settings_for


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path)


@pytest.fixture
async def address(settings: Settings) -> AsyncIterator[str]:
    app = Application(settings)
    try:
        port = await app.start()
        yield f"127.0.0.1:{port}"
    finally:
        await app.stop()


@pytest.fixture
async def client(address: str) -> AsyncIterator[ExecutionClient]:
    async with ExecutionClient(address) as client:
        yield client


@pytest.fixture
def threaded_address(settings: Settings) -> Iterator[str]:
    server = ServerThread(settings).start()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop()


@pytest.fixture
def blocking_client(threaded_address: str) -> Iterator[BlockingExecutionClient]:
    with BlockingExecutionClient(threaded_address) as client:
        yield client
