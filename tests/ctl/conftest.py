"""A real server for execution-ctl's tests, in a thread of its own (the tests block on the CLI's
subprocess), and a blocking client to arrange what the commands then show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from execution_client import BlockingExecutionClient
from tests.auth.kit import OPERATOR_TOKEN, auth_settings
from tests.ctl.kit import serve
from tests.harness import settings_for


@pytest.fixture
def address(database_url: str, tmp_path: Path) -> Iterator[str]:
    yield from serve(settings_for(database_url, tmp_path))


@pytest.fixture
def service(address: str) -> Iterator[BlockingExecutionClient]:
    with BlockingExecutionClient(address) as client:
        yield client


@pytest.fixture
def auth_address(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A server that requires tokens (tests/auth/kit.py's)."""
    yield from serve(auth_settings(database_url, tmp_path))


@pytest.fixture
def operator(auth_address: str) -> Iterator[BlockingExecutionClient]:
    with BlockingExecutionClient(auth_address, token=OPERATOR_TOKEN) as client:
        yield client
