"""aiosqlite's connection, with COMMIT and ROLLBACK answered at once when no transaction is open.

aiosqlite runs every call on a thread of its own, a round trip between the event loop and that
thread each. SQLAlchemy ends every transaction with a COMMIT or a ROLLBACK, and hands a pooled
connection back with a ROLLBACK, whether or not the database has a transaction open: a read
that began none, or the writer's batch whose COMMIT was sent with its statements
(bulk.Statements.run). sqlite3 does nothing for those when no transaction is open, so neither
does this, without the trip. Whether one is open is SQLite's own flag (sqlite3_get_autocommit),
read here as aiosqlite's in_transaction reads it; SQLAlchemy calls commit and rollback only
once the connection's statements have finished, so nothing runs on the thread meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial

import aiosqlite
from sqlalchemy.engine.url import URL

ITER_CHUNK_SIZE = 64  # aiosqlite.connect's own


class Connection(aiosqlite.Connection):
    # How long a statement waits for a lock (sqlite3's `timeout`), for what sets it to 0 for a
    # while and back (bulk.Statements' batches on the loop's thread).
    busy_timeout_ms: int = 5000

    async def commit(self) -> None:
        if not self._idle():
            await super().commit()

    async def rollback(self) -> None:
        if not self._idle():
            await super().rollback()

    def _idle(self) -> bool:
        """Open, with no transaction: COMMIT and ROLLBACK would do nothing. A closed or broken
        connection is not idle, so that the call fails as aiosqlite's own would."""
        try:
            return self._connection is not None and not self._connection.in_transaction
        except sqlite3.Error:
            return False


def connector(url: URL, **connect_args: object) -> Callable[[], Awaitable[Connection]]:
    """For create_async_engine's async_creator: a Connection to the database `url` names, opened
    with the arguments SQLAlchemy's aiosqlite dialect would give it, and `connect_args`."""
    args, kwargs = url.get_dialect()().create_connect_args(url)
    kwargs.update(connect_args)

    async def connect() -> Connection:
        connection = Connection(partial(sqlite3.connect, *args, **kwargs), ITER_CHUNK_SIZE)
        connection.busy_timeout_ms = int(float(kwargs.get("timeout", 5.0)) * 1000)  # type: ignore[arg-type]
        connection._thread.daemon = True  # as SQLAlchemy makes aiosqlite's own: a thread must not keep the process up
        return await connection

    return connect
