"""The async engine: aiosqlite (WAL) as the embedded default, asyncpg for PostgreSQL."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from execution_server.store import sqlite_connection


SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")


def create_engine(
    database_url: str, *, sqlite_synchronous: str = "NORMAL", sqlite_autocheckpoint: bool = True
) -> AsyncEngine:
    """`sqlite_synchronous`: NORMAL or FULL (README, "Durability"); `sqlite_autocheckpoint`
    False: no COMMIT checkpoints the WAL, for an engine whose owner does (store/wal_checkpoint.py).
    PostgreSQL ignores both."""
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite_synchronous must be NORMAL or FULL, got {sqlite_synchronous!r}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, async_creator=sqlite_connection.connector(url, timeout=30))
        event.listen(engine.sync_engine, "connect", partial(_sqlite_pragmas, sqlite_synchronous, sqlite_autocheckpoint))
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(synchronous: str, autocheckpoint: bool, dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (ListOrders, stream catch-up) run beside the single writer.
    # synchronous=NORMAL in WAL mode is durable across process crashes, not power loss (the WAL
    # is synced at checkpoints only); FULL syncs the WAL at every commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")  # one of SQLITE_SYNCHRONOUS, checked above
    cursor.execute("PRAGMA foreign_keys=ON")
    if not autocheckpoint:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()
