"""One statement for many rows, in as few trips to the driver as it allows.

On SQLite the driver (aiosqlite) runs each call on a thread of its own, and a statement executed
through SQLAlchemy costs three of those hops (cursor, execute, close) plus SQLAlchemy's work per
statement; a group commit writes four or five tables, so its fixed cost was sixteen hops. Here a
table's rows go to the driver in a single executemany: the statement is compiled once per
dialect, and each value passes through its column type's own bind processor, so it is stored
exactly as SQLAlchemy would store it. The writes join the connection's current transaction
(SQLite's driver opens it implicitly before the first write; SQLAlchemy commits or rolls back).

Other databases go through SQLAlchemy: asyncpg runs on the event loop, with no hop to save.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Row = Mapping[str, Any]


async def executemany(conn: AsyncConnection, statement: Executable, rows: Sequence[Row]) -> None:
    """Run `statement` once per row; every row has the same keys."""
    if not rows:
        return
    dialect = conn.dialect
    if dialect.name != "sqlite":
        await conn.execute(statement, rows)
        return
    prepared = _prepare(statement, dialect, tuple(rows[0]))
    raw = await conn.get_raw_connection()
    try:
        parameters = [prepared.parameters(row) for row in rows]
    except (TypeError, ValueError) as error:  # a column type refused a value, as SQLAlchemy reports it
        raise StatementError(str(error), prepared.sql, None, error) from error
    try:
        # The cursor is left to the driver: closing it would cost one more hop, and a finished
        # executemany holds no lock.
        await raw.driver_connection.executemany(prepared.sql, parameters)  # type: ignore[union-attr]
    except dialect.loaded_dbapi.Error as error:
        # Raised as SQLAlchemy raises it (IntegrityError, OperationalError...), so callers
        # handle one family of errors whichever path ran.
        lost = dialect.is_disconnect(error, None, None)  # the writer then takes a new connection
        raise DBAPIError.instance(
            prepared.sql, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost
        ) from error


class _Prepared:
    """A compiled statement and how to turn a row into its positional parameters."""

    def __init__(self, sql: str, names: tuple[str, ...], processors: tuple[Callable[[Any], Any] | None, ...]) -> None:
        self.sql = sql
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
        processors = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        prepared = _PREPARED[key] = _Prepared(compiled.string, names, processors)
    return prepared
