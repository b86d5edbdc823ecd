"""Statements for many rows, in as few trips to the driver as it allows.

On SQLite the driver (aiosqlite) runs each call on a thread of its own, and every call is a
round trip between the event loop and that thread: a statement executed through SQLAlchemy
costs three of them (cursor, execute, close) plus SQLAlchemy's work per statement. A group
commit writes up to five tables; here their statements are compiled once per dialect, each
value passes through its column type's own bind processor (so it is stored exactly as
SQLAlchemy would store it), and the whole list goes to the driver's thread in one call, which
runs one executemany per table, and the COMMIT when asked. The writes join the connection's
current transaction (SQLite's driver opens it implicitly before the first write); SQLAlchemy
commits it, or rolls it back, unless the COMMIT went with them (its own then finds no
transaction open and costs no trip: store/sqlite_connection.py).

A small batch may instead run on the calling thread (`inline`), sparing the two thread
switches of the trip (at concurrency 1, a tenth of an order's latency). The caller says
when: when nothing else is under way that the loop could do meanwhile. It never waits there
for a lock: the connection's busy timeout is 0 for it, and a batch that finds the database
locked at its first statement (so has written nothing) goes to the driver's thread instead,
to wait there as any other.

On PostgreSQL (asyncpg, on the event loop: no thread to hop to) the whole batch is one
statement (store/one_statement.py: each table's rows as arrays, the tables' statements as
CTEs), parameters prepared the same way: one round trip, without SQLAlchemy's execution of a
statement around it. When the batch opened no transaction (it read nothing) and the caller
commits, that statement runs on its own, atomic by itself: no BEGIN, no COMMIT. Other drivers
go through SQLAlchemy, one executemany per table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from execution_server.store import one_statement

Row = Mapping[str, Any]

# The most rows a batch may have to run on the calling thread: an order's batch has a handful,
# a reconciliation's repair or a mass cancel may have thousands, which would hold the loop.
INLINE_ROWS = 32


class Statements:
    """Statements with their rows, run in the order they were added; a statement with no rows
    is no statement. Every row of one statement has the same keys. `dialect` is the name of the
    database they are for, for statements that are written differently for each."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._items: list[tuple[Executable, Sequence[Row]]] = []
        # Set once every statement has run and the COMMIT is being sent: what fails from then
        # on is the COMMIT, whose outcome may be unknown.
        self.reached_commit = False

    def add(self, statement: Executable, rows: Sequence[Row]) -> None:
        if rows:
            self._items.append((statement, rows))

    def __len__(self) -> int:
        return len(self._items)

    @property
    def rows(self) -> int:
        return sum(len(rows) for _, rows in self._items)

    async def run(
        self, conn: AsyncConnection, *, commit: bool = False, inline: bool = False, alone: bool = False
    ) -> None:
        """`commit`: on SQLite, the connection's transaction is committed in the same call to the
        driver, after the statements; elsewhere the caller commits, as without it. `alone`: on
        PostgreSQL, if no transaction is open yet, none is opened: the one statement commits by
        itself (the caller's COMMIT then finds nothing to do). Only for a caller that can tell
        afterwards whether it did, should the connection drop once it is sent (reached_commit).
        `inline`: on SQLite, a batch of at most INLINE_ROWS rows runs on this thread (see above)."""
        if not self._items:
            return
        dialect = conn.dialect
        if dialect.name == "sqlite":
            await self._run_on_sqlite(conn, commit, inline and self.rows <= INLINE_ROWS)
        elif dialect.driver == "asyncpg":
            await self._run_on_asyncpg(conn, alone)
        else:
            for statement, rows in self._items:
                await conn.execute(statement, rows)

    async def _run_on_sqlite(self, conn: AsyncConnection, commit: bool, inline: bool) -> None:
        dialect = conn.dialect
        work = self._work(self._prepared(dialect))
        driver = (await conn.get_raw_connection()).driver_connection
        try:
            if inline and self._ran_inline(driver, work, commit):
                return
            # One call on aiosqlite's thread for every statement. Its queue is what SQLAlchemy's
            # own aiosqlite adapter uses for calls aiosqlite has no method for; the cursor is left
            # to the driver (closing it would cost one more call, and a finished executemany holds
            # no lock).
            await driver._execute(self._run_all, driver._conn, work, commit)  # type: ignore[union-attr]
        except _Failed as failed:
            lost = dialect.is_disconnect(failed.error, None, None)
            raise _as_sqlalchemy_error(dialect, failed.sql, failed.error, lost=lost) from failed.error

    async def _run_on_asyncpg(self, conn: AsyncConnection, alone: bool) -> None:
        """The batch as one statement (or, if a statement has no set-based form, one executemany
        each) through SQLAlchemy's asyncpg adapter itself, which opens the transaction (BEGIN,
        before the first statement, as for any other) and translates asyncpg's errors; what is
        left out is SQLAlchemy's execution of a statement around it (its compiled cache, every
        row's parameters built again, its result), most of a batch's own cost at concurrency 1.
        `alone`: see run."""
        dialect = conn.dialect
        prepared = self._prepared(dialect)
        work = self._work(prepared)
        adapted: Any = (await conn.get_raw_connection()).dbapi_connection
        one = _as_one_statement(prepared, work)
        if one is None:
            cursor = adapted.cursor()
            for sql, parameters in work:
                await _on_asyncpg(dialect, adapted, sql, cursor._executemany(sql, parameters))
            return
        sql, arguments = one
        if alone and adapted._transaction is None and not adapted.autocommit and not adapted._connection.is_closed():
            # Nothing of the batch was sent yet, so no transaction is open: the statement runs
            # on its own. Once it is sent its outcome is the commit's (unknown if the connection
            # drops), unless the server answers with an error: then it did not commit. (A
            # connection known to be closed takes the path below, which fails before sending.)
            self.reached_commit = True
            try:
                await _on_asyncpg(dialect, adapted, sql, _execute_alone(adapted._connection, sql, arguments))
            except DBAPIError as error:
                if isinstance(error.orig.__cause__, dialect.dbapi.asyncpg.PostgresError):  # type: ignore[union-attr]
                    self.reached_commit = False
                raise
        else:
            await _on_asyncpg(dialect, adapted, sql, adapted.cursor()._executemany(sql, [arguments]))

    def _ran_inline(self, driver: Any, work: list[tuple[str, list[list[Any]]]], commit: bool) -> bool:
        """The batch on this thread, never waiting for a lock; False (nothing written) when the
        database was locked at its first statement."""
        connection: sqlite3.Connection = driver._conn
        waits = getattr(driver, "busy_timeout_ms", None)
        if waits is None:  # not a connection of ours (store/sqlite_connection.py): not ours to change
            return False
        _pragma(connection, "PRAGMA busy_timeout = 0")
        try:
            self._run_all(connection, work, commit)
        except _Failed as failed:
            # Any kind of busy (the primary code, whatever the extended one says).
            if failed.first and (getattr(failed.error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY:
                return False
            raise
        finally:
            _pragma(connection, f"PRAGMA busy_timeout = {waits}")
        return True

    def _prepared(self, dialect: Dialect) -> list[_Prepared]:
        """Each statement compiled for `dialect`, in the order added."""
        return [_prepare(statement, dialect, tuple(rows[0])) for statement, rows in self._items]

    def _work(self, prepared: list[_Prepared]) -> list[tuple[str, list[list[Any]]]]:
        """Each statement's SQL and its rows as positional parameters."""
        return [_parameters(each, rows) for each, (_, rows) in zip(prepared, self._items, strict=True)]

    def _run_all(self, connection: sqlite3.Connection, work: list[tuple[str, list[list[Any]]]], commit: bool) -> None:
        """On the driver's thread (inline: the caller's): each statement over its rows, in order,
        stopping at the first refused; then the COMMIT if asked."""
        for index, (sql, parameters) in enumerate(work):
            try:
                connection.executemany(sql, parameters)
            except sqlite3.Error as error:
                raise _Failed(sql, error, first=index == 0) from error
        if commit:
            self.reached_commit = True
            try:
                _commit(connection)
            except sqlite3.Error as error:
                raise _Failed("COMMIT", error) from error


def _as_one_statement(
    prepared: list[_Prepared], work: list[tuple[str, list[list[Any]]]]
) -> tuple[str, list[list[Any]]] | None:
    """The batch as one statement and its arguments (an array per column of each table's rows);
    None if a statement has no set-based form."""
    if any(each.set_sql is None for each in prepared):
        return None
    key = tuple(prepared)
    sql = _JOINED.get(key)
    if sql is None:
        sql = _JOINED[key] = one_statement.joined([(each.set_sql, each.count) for each in prepared])  # type: ignore[misc]
    arguments = [
        column for each, (_, parameters) in zip(prepared, work, strict=True)
        for column in one_statement.columns(parameters, each.count)
    ]
    return sql, arguments


async def _on_asyncpg(dialect: Dialect, adapted: Any, sql: str, call: Awaitable[Any]) -> None:
    """Await `call` on the adapted asyncpg connection, its errors raised as SQLAlchemy's."""
    try:
        try:
            await call
        except dialect.loaded_dbapi.Error:
            raise
        except Exception as error:  # asyncpg's own, from a call to the driver itself
            adapted._handle_exception(error)  # raises it translated (or as it is)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, adapted, None)
        raise _as_sqlalchemy_error(dialect, sql, error, lost=lost) from error


def _as_sqlalchemy_error(dialect: Dialect, sql: str, error: Exception, *, lost: bool) -> DBAPIError:
    """A driver's error as SQLAlchemy raises it (IntegrityError, OperationalError...), so that
    callers handle one family of errors whichever path ran; `lost`: the connection is gone, and
    the writer then takes a new one."""
    return DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost)


def _parameters(prepared: _Prepared, rows: Sequence[Row]) -> tuple[str, list[list[Any]]]:
    try:
        return prepared.sql, [prepared.parameters(row) for row in rows]
    except (TypeError, ValueError) as error:  # a column type refused a value, as SQLAlchemy reports it
        raise StatementError(str(error), prepared.sql, None, error) from error


def _pragma(connection: sqlite3.Connection, sql: str) -> None:
    try:
        connection.execute(sql)
    except sqlite3.Error as error:
        raise _Failed(sql, error) from error


class _Failed(Exception):
    """A statement the database refused, raised from the driver's thread with its SQL; `first`:
    it was the batch's first statement, so nothing of the batch was written."""

    def __init__(self, sql: str, error: sqlite3.Error, *, first: bool = False) -> None:
        super().__init__(sql)
        self.sql = sql
        self.error = error
        self.first = first


def _commit(connection: sqlite3.Connection) -> None:
    connection.commit()


async def _execute_alone(connection: Any, sql: str, arguments: list[list[Any]]) -> None:
    """A batch's one statement, outside any transaction, on the asyncpg connection: it commits."""
    await connection.execute(sql, *arguments)


class _Prepared:
    """A compiled statement and how to turn a row into its positional parameters."""

    def __init__(
        self, sql: str, names: tuple[str, ...], processors: tuple[Callable[[Any], Any] | None, ...],
        set_sql: str | None = None,
    ) -> None:
        self.sql = sql
        self.count = len(names)
        self.set_sql = set_sql  # on PostgreSQL: the statement taking all rows at once (one_statement)
        # itemgetter reads every parameter in one C call; only typed columns are processed.
        self._values = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        self._processed = tuple((index, _last_value_memo(process)) for index, process in enumerate(processors) if process)

    def parameters(self, row: Row) -> list[Any]:
        values = list(self._values(row))
        for index, process in self._processed:
            values[index] = process(values[index])
        return values


def _last_value_memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, remembering its last value's result. The rows of a batch share values (the
    batch's one timestamp in every created_at, updated_at and event time; the same quantities),
    and formatting a datetime or a Decimal for SQLite is most of a row's cost. By identity:
    the values are immutable, and equal values may format differently (other time zones)."""
    last: list[Any] = [_NOTHING, None]

    def memoized(value: Any) -> Any:
        if value is not last[0]:
            last[1] = process(value)
            last[0] = value
        return last[1]

    return memoized


_NOTHING = object()


_PREPARED: dict[tuple[Executable, str, tuple[str, ...]], _Prepared] = {}


def _prepare(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared:
    key = (statement, dialect.name, keys)  # statements given here are built once, at import
    prepared = _PREPARED.get(key)
    if prepared is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None, "a positional dialect"
        names = tuple(compiled.positiontup)
        types = tuple(compiled.binds[name].type.dialect_impl(dialect) for name in names)
        processors = tuple(type_.bind_processor(dialect) for type_ in types)
        set_sql = _set_based(statement, dialect, keys, names, types) if dialect.driver == "asyncpg" else None
        prepared = _PREPARED[key] = _Prepared(compiled.string, names, processors, set_sql)
    return prepared


def _set_based(
    statement: Executable, dialect: Dialect, keys: tuple[str, ...], names: tuple[str, ...], types: tuple[Any, ...]
) -> str | None:
    """The statement's set-based form (one_statement.set_based), from its SQL without the casts
    asyncpg's dialect puts on each parameter (they would be the casts of one value, not of an
    array), the arrays cast to the columns' own types."""
    plain_dialect = type(dialect)()  # a new one: the render-casts choice is memoized on the first use
    plain_dialect.bind_typing = BindTyping.NONE
    plain = statement.compile(dialect=plain_dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    if tuple(plain.positiontup or ()) != names:
        return None
    return one_statement.set_based(plain.string, [dialect.type_compiler_instance.process(type_) for type_ in types])


_JOINED: dict[tuple[_Prepared, ...], str] = {}
