"""store/sqlite_connection.py and the writer's batches on SQLite: a COMMIT or ROLLBACK with no
transaction open costs no call to aiosqlite's thread, so that a group commit (statements and
COMMIT sent together, store/bulk.py) is one call in all. SQLite only, whichever database the
suite runs on: these are the SQLite driver's calls."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.store import tables as t
from execution_server.store.sqlite_connection import Connection
from execution_server.store.writer import GroupCommitWriter
from tests.unit.test_writer import record


@pytest.fixture
def engine(sqlite_engine: AsyncEngine) -> AsyncEngine:
    return sqlite_engine


class Calls:
    """Counts the calls made on a driver connection's thread."""

    def __init__(self, driver: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = driver._execute

        async def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(driver, "_execute", counted)


async def _driver(conn: object) -> Connection:
    driver = (await conn.get_raw_connection()).driver_connection  # type: ignore[attr-defined]
    assert isinstance(driver, Connection)
    return driver


async def test_commit_and_rollback_with_no_transaction_open_make_no_call(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        calls = Calls(await _driver(conn), monkeypatch)
        await conn.execute(select(func.count()).select_from(t.orders))  # a read opens no transaction
        read = calls.count
        await conn.commit()
        await conn.rollback()
        assert read > 0 and calls.count == read


async def test_an_open_transaction_is_still_committed_and_rolled_back(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("CREATE TABLE notes (note TEXT)"))
        await conn.execute(text("INSERT INTO notes VALUES ('kept')"))
        await conn.commit()
        await conn.execute(text("INSERT INTO notes VALUES ('rolled back')"))
        await conn.rollback()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT note FROM notes"))).scalars().all() == ["kept"]


async def test_a_closed_connection_still_says_so(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        driver = await _driver(conn)
        await driver._execute(driver._conn.close)  # the sqlite3 handle, closed under the pool's feet
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            await driver.commit()
        await conn.invalidate()


async def test_a_group_commit_on_sqlite_is_one_call_to_the_driver(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list = []
    writer = GroupCommitWriter(
        engine, last_sequence=0, clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
        on_commit=lambda updates, payloads: published.extend(updates),
    )
    writer.start()
    assert await writer.run(record("a")) == "a"  # the writer's connection is open from here
    calls = Calls(await _driver(writer._conn), monkeypatch)
    assert await writer.run(record("b")) == "b"
    assert calls.count == 1  # the event's INSERT and the COMMIT
    await writer.stop()
    async with engine.connect() as conn:
        logged = (await conn.execute(select(t.order_events.c.event_type).order_by(t.order_events.c.sequence))).all()
    assert [row.event_type for row in logged] == ["a", "b"]
