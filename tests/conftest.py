"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when
EXECUTION_TEST_DATABASE_URL names one), and a real server on a loopback port."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import secret_scan as secrets_scan

# Property tests never fail on time: this machine is shared and noisy (a 200 ms deadline
# failed a pure conversion test that takes 0.15 ms). Examples stay as each test sets them.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")

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


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database whichever database the suite runs on: for what only SQLite
    has (its driver's thread, its connections)."""
    from execution_server.store.database import create_engine
    from execution_server.store.migrate import upgrade_to_head

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sqlite-only.db'}")
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


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


# --- secrets never appear in what the servers wrote (tests/secret_scan.py) ---

_capture: secrets_scan.SessionCapture | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _capture
    directory = os.environ.get("SECRET_SCAN_DIR")  # where to keep the capture; default: a new temporary one
    _capture = secrets_scan.SessionCapture(Path(directory) if directory else None)
    _capture.install()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _capture is not None:
        _capture.add_test_output(report.capstdout + report.capstderr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _capture is None:
        return
    problems = secrets_scan.check(_capture)
    _capture.uninstall()
    if not problems:
        _capture.discard()
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["secret scan: configured secrets appear in what the servers wrote:", *problems,
                 f"(everything captured: {_capture.path} and the ServerProcess logs)"]
        for line in lines:
            if reporter is not None:
                reporter.write_line(line, red=True)
            else:
                print(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
