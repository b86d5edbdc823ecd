"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when
EXECUTION_TEST_DATABASE_URL names one), and a real server on a loopback port."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("EXECUTION_TEST_DATABASE_URL", "")
_counter = itertools.count()


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty database for one test. With PostgreSQL asked for and unreachable this
    fails, never skips."""
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'execution.db'}"
        return
    name = f"t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    _admin(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        url = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())
