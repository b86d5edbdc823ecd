"""store/bulk.py: a batch's rows go to the driver in one call, stored exactly as SQLAlchemy
stores them, and its errors are SQLAlchemy's; on SQLite a small batch may run inline, never
waiting for a lock there."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from execution_server.domain.orders import OrderStatus
from execution_server.store import bulk
from execution_server.store import tables as t
from execution_server.store.codec import order_to_row
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from tests.builders import T0, an_order

INSERT_ORDER = insert(t.orders)
INSERT_FILL = insert(t.fills)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


async def _executemany(conn: AsyncConnection, statement: object, rows: list[dict[str, object]]) -> None:
    """One statement's rows through bulk.Statements, as a batch of one table."""
    statements = bulk.Statements(conn.dialect.name)
    statements.add(statement, rows)  # type: ignore[arg-type]
    await statements.run(conn)


def _rows(prefix: str) -> list[dict[str, object]]:
    """Orders whose columns cover every type: money with many digits and none, times, flags."""
    filled = an_order(OrderStatus.PENDING, order_id=f"{prefix}-1", client_order_id=f"{prefix}-c1").submitted(
        f"{prefix}-b1", "new", T0
    ).filled(Decimal("10"), Decimal("101.123456789012345678"), T0, "filled")
    pending = an_order(OrderStatus.PENDING, order_id=f"{prefix}-2", client_order_id=f"{prefix}-c2")
    # A later time after rows sharing one datetime object: remembered values must not stick.
    later = an_order(OrderStatus.PENDING, order_id=f"{prefix}-3", client_order_id=f"{prefix}-c3").with_changes(
        updated_at=T0 + timedelta(seconds=1, microseconds=7)
    )
    first = 1 if prefix == "a" else 4
    return [order_to_row(order, first + offset) for offset, order in enumerate((filled, pending, later))]


async def _stored(engine: AsyncEngine, prefix: str) -> list[tuple[object, ...]]:
    """The rows as the database holds them (no type processing on the way out), ids removed."""
    columns = [column.name for column in t.orders.c if column.name not in ("order_id", "client_order_id", "broker_order_id", "position")]
    query = text(f"SELECT {', '.join(columns)} FROM orders WHERE order_id LIKE :prefix ORDER BY order_id")
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(query, {"prefix": f"{prefix}-%"})]


async def test_rows_are_stored_as_sqlalchemy_stores_them(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await _executemany(conn, INSERT_ORDER, _rows("a"))
        await conn.execute(INSERT_ORDER, _rows("b"))
    assert await _stored(engine, "a") == await _stored(engine, "b")
    async with engine.connect() as conn:
        read = {row.order_id: row for row in await conn.execute(select(t.orders))}
    assert read["a-1"].average_fill_price == Decimal("101.123456789012345678")
    assert read["a-1"].updated_at == T0 and read["a-2"].limit_price == read["b-2"].limit_price
    assert read["a-3"].updated_at == T0 + timedelta(seconds=1, microseconds=7)


async def test_writes_belong_to_the_connection_s_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        async with conn.begin() as transaction:
            await _executemany(conn, INSERT_ORDER, _rows("a"))
            await transaction.rollback()
    assert await _stored(engine, "a") == []


async def test_a_broken_constraint_is_sqlalchemy_s_integrity_error_and_keeps_nothing(engine: AsyncEngine) -> None:
    rows = _rows("a")
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await _executemany(conn, INSERT_ORDER, [rows[0], rows[1], rows[0]])
    assert await _stored(engine, "a") == []


async def test_a_value_its_column_refuses_is_a_statement_error_naming_it(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await _executemany(conn, INSERT_ORDER, _rows("a")[:1])
    fill = {"execution_id": "x-1", "order_id": "a-1", "quantity": Decimal("1"), "price": Decimal("1"), "sequence": 5}
    with pytest.raises(StatementError, match="naive datetime"):
        async with engine.begin() as conn:
            await _executemany(conn, INSERT_FILL, [{**fill, "time": datetime(2026, 1, 2)}])
    with pytest.raises(StatementError, match="money columns take Decimal"):
        async with engine.begin() as conn:
            await _executemany(conn, INSERT_FILL, [{**fill, "time": T0, "price": 1.5}])
    async with engine.connect() as conn:
        assert (await conn.execute(select(t.fills))).all() == []


async def test_no_rows_is_no_statement(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await _executemany(conn, INSERT_ORDER, [])
    assert await _stored(engine, "") == []


async def test_a_lost_connection_is_reported_as_one(engine: AsyncEngine) -> None:
    from sqlalchemy.exc import DBAPIError

    from tests.unit.test_writer import _lose

    async with engine.connect() as conn:
        await _lose((await conn.get_raw_connection()).driver_connection)
        with pytest.raises(DBAPIError) as lost:
            await _executemany(conn, INSERT_ORDER, _rows("a"))
        assert lost.value.connection_invalidated


def _fill(execution_id: str, order_id: str) -> dict[str, object]:
    return {"execution_id": execution_id, "order_id": order_id, "quantity": Decimal("1"), "price": Decimal("2.5"),
            "time": T0, "sequence": 9}


async def test_statements_run_in_the_order_added_and_on_sqlite_in_one_call_to_the_driver(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite = engine.dialect.name == "sqlite"
    async with engine.begin() as conn:
        calls = 0
        if sqlite:  # each call to aiosqlite's thread goes through its queue
            driver = (await conn.get_raw_connection()).driver_connection
            real = driver._execute

            async def counted(*args: object, **kwargs: object) -> object:
                nonlocal calls
                calls += 1
                return await real(*args, **kwargs)

            monkeypatch.setattr(driver, "_execute", counted)
        statements = bulk.Statements(conn.dialect.name)
        statements.add(INSERT_ORDER, _rows("a"))
        statements.add(INSERT_FILL, [])  # no rows: no statement
        statements.add(INSERT_FILL, [_fill("x-1", "a-1"), _fill("x-2", "a-2")])  # their orders come first
        assert len(statements) == 2
        await statements.run(conn)
        monkeypatch.undo()
    assert calls == (1 if sqlite else 0)
    async with engine.connect() as conn:
        fills = (await conn.execute(select(t.fills.c.execution_id, t.fills.c.price).order_by(t.fills.c.execution_id))).all()
    assert [tuple(row) for row in fills] == [("x-1", Decimal("2.5")), ("x-2", Decimal("2.5"))]
    assert len(await _stored(engine, "a")) == 3


@pytest.mark.parametrize("alone", [False, True], ids=["in a transaction", "alone"])
async def test_a_statement_refused_after_others_ran_is_an_integrity_error_and_the_transaction_keeps_nothing(
    engine: AsyncEngine, alone: bool
) -> None:
    statements = bulk.Statements(engine.dialect.name)
    with pytest.raises(IntegrityError, match="fills"):
        async with engine.begin() as conn:
            statements.add(INSERT_ORDER, _rows("a"))
            statements.add(INSERT_FILL, [_fill("x-1", "a-1"), _fill("x-1", "a-2")])  # the same execution twice
            await statements.run(conn, commit=alone, alone=alone)
    assert await _stored(engine, "a") == []
    assert not statements.reached_commit  # the database answered: it did not commit


async def _queries(conn: AsyncConnection) -> list[str]:
    """On PostgreSQL, every query sent on this connection from now on, as asyncpg logs it, but
    asyncpg's own look-ups of types it meets for the first time on a connection."""
    sent: list[str] = []
    driver = (await conn.get_raw_connection()).driver_connection

    def logged(query: object) -> None:
        text = query.query  # type: ignore[attr-defined]
        if "typeinfo_tree" not in text and "'jit'" not in text:
            sent.append(text.strip())

    driver.add_query_logger(logged)  # type: ignore[union-attr]
    return sent


def _a_batch(dialect: str) -> bulk.Statements:
    """Orders, fills of two of them (the foreign key to rows of the same batch) and an update."""
    statements = bulk.Statements(dialect)
    statements.add(INSERT_ORDER, _rows("a"))
    statements.add(INSERT_FILL, [_fill("x-1", "a-1"), _fill("x-2", "a-2")])
    statements.add(_UPDATE_PRICE, [{"key_order_id": "b-1", "average_fill_price": Decimal("3.25")}])
    return statements


_UPDATE_PRICE = (
    update(t.orders).where(t.orders.c.order_id == bindparam("key_order_id"))
    .values(average_fill_price=bindparam("average_fill_price"))
)


@pytest.mark.parametrize("reads_first", [False, True], ids=["writes only", "after a read"])
async def test_a_batch_on_postgresql_is_one_statement_and_alone_needs_no_begin_or_commit(
    engine: AsyncEngine, reads_first: bool
) -> None:
    """On PostgreSQL the batch's tables go in one statement; a batch that read nothing runs it
    outside any transaction, which commits it. On SQLite: one call to the driver (above)."""
    async with engine.begin() as conn:
        await conn.execute(INSERT_ORDER, _rows("b"))
    sent: list[str] = []
    async with engine.connect() as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            sent = await _queries(conn)
        if reads_first:
            await conn.execute(select(t.orders.c.order_id).where(t.orders.c.order_id == "b-1"))
        await _a_batch(engine.dialect.name).run(conn, commit=True, alone=True)
    if engine.dialect.name == "postgresql":
        statement = [query for query in sent if query.startswith("WITH ")]
        assert len(statement) == 1, sent
        # (asyncpg does not log the read: SQLAlchemy runs it as a prepared statement)
        others = [query.split()[0].rstrip(";") for query in sent if not query.startswith("WITH ")]
        assert others == (["BEGIN", "COMMIT"] if reads_first else []), sent
    async with engine.connect() as conn:
        fills = (await conn.execute(select(t.fills.c.execution_id, t.fills.c.order_id).order_by(t.fills.c.execution_id))).all()
        price = (await conn.execute(select(t.orders.c.average_fill_price).where(t.orders.c.order_id == "b-1"))).scalar()
    assert [tuple(row) for row in fills] == [("x-1", "a-1"), ("x-2", "a-2")]
    assert len(await _stored(engine, "a")) == 3 and price == Decimal("3.25")


@pytest.mark.parametrize("alone", [False, True], ids=["in a transaction", "alone"])
async def test_a_value_longer_than_its_column_is_never_cut_short(engine: AsyncEngine, alone: bool) -> None:
    """Rows travel as arrays on PostgreSQL, cast without the column's length: the column itself
    refuses a longer value, as it does a single row's. (SQLite keeps any length.)"""
    row = {**_rows("a")[0], "strategy_id": "s" * 129}  # the column is VARCHAR(128)
    statements = bulk.Statements(engine.dialect.name)
    statements.add(INSERT_ORDER, [row])
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="too long"):
            async with engine.begin() as conn:
                await statements.run(conn, commit=alone, alone=alone)
        assert await _stored(engine, "a") == []
        return
    async with engine.begin() as conn:
        await statements.run(conn, commit=alone, alone=alone)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(t.orders.c.strategy_id))).scalar()
    assert stored == "s" * 129


async def _trips_to_the_driver_thread(conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls that go to aiosqlite's thread on this connection."""
    driver = (await conn.get_raw_connection()).driver_connection
    real, calls = driver._execute, [0]

    async def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(driver, "_execute", counted)
    return calls


async def _busy_timeout(conn: AsyncConnection) -> int:
    driver = (await conn.get_raw_connection()).driver_connection
    return driver._conn.execute("PRAGMA busy_timeout").fetchone()[0]


async def test_a_small_batch_inline_is_stored_the_same_without_a_trip_to_the_driver_thread(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sqlite_engine
    async with engine.connect() as conn:
        await conn.begin()
        trips = await _trips_to_the_driver_thread(conn, monkeypatch)
        statements = bulk.Statements(conn.dialect.name)
        statements.add(INSERT_ORDER, _rows("a"))
        await statements.run(conn, commit=True, inline=True)
        assert trips[0] == 0
        monkeypatch.undo()
        assert await _busy_timeout(conn) == 30_000  # the engine's 30 s, given back
        await conn.commit()
    async with engine.begin() as conn:
        await conn.execute(INSERT_ORDER, _rows("b"))
    assert await _stored(engine, "a") == await _stored(engine, "b")


async def test_a_batch_too_large_for_the_loop_goes_to_the_driver_thread_even_when_asked_inline(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sqlite_engine
    fills = [_fill(f"x-{n}", "a-1") for n in range(bulk.INLINE_ROWS)]
    async with engine.begin() as conn:
        trips = await _trips_to_the_driver_thread(conn, monkeypatch)
        statements = bulk.Statements(conn.dialect.name)
        statements.add(INSERT_ORDER, _rows("a"))
        statements.add(INSERT_FILL, fills)  # 3 + INLINE_ROWS rows
        await statements.run(conn, inline=True)
        assert trips[0] == 1
    async with engine.connect() as conn:
        assert len((await conn.execute(select(t.fills))).all()) == bulk.INLINE_ROWS


async def test_inline_never_waits_for_a_lock_on_the_loop_it_waits_on_the_driver_thread(
    sqlite_engine: AsyncEngine,
) -> None:
    """Another connection holds the write lock: the inline batch finds the database locked at
    its first statement, writes nothing there, and waits on the driver's thread, the loop free
    meanwhile; once the lock is let go the batch is written."""
    engine = sqlite_engine
    path = engine.url.database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held
    try:
        async with engine.connect() as conn:
            await conn.begin()
            statements = bulk.Statements(conn.dialect.name)
            statements.add(INSERT_ORDER, _rows("a"))
            writing = asyncio.ensure_future(statements.run(conn, commit=True, inline=True))
            turns = 0
            while turns < 20:  # the loop keeps turning while the batch waits for the lock
                await asyncio.sleep(0.01)
                turns += 1
            assert not writing.done()
            holder.execute("ROLLBACK")
            async with asyncio.timeout(30):  # only turns a hang into a failure
                await writing
            assert await _busy_timeout(conn) == 30_000
    finally:
        holder.close()
    assert len(await _stored(engine, "a")) == 3
