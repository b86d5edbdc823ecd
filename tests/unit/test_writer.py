"""The group-commit writer: a refusal fails only its caller; a failure after a write rolls the
batch back and the other changes of the batch still land."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from execution_server.backoff import Backoff
from execution_server.store import tables as t
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter


class Refused(Exception):
    pass


async def _writer(database_url: str, published: list) -> tuple:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    writer = GroupCommitWriter(
        engine, last_sequence=0, clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
        on_commit=lambda updates, payloads: published.extend(updates), refusals=(Refused,),
    )
    writer.start()
    return engine, writer


def record(name: str, *, reads: bool = False):
    """An operation that logs an event named `name`; `reads`: after a read (on PostgreSQL its
    batch then commits with a COMMIT, not as one statement alone)."""
    async def operation(tx: Transaction) -> str:
        if reads:
            assert await tx.get_order("no such order") is None
        tx.record(name, strategy_id="s", symbol="X")
        return name

    return operation


async def test_a_refusal_fails_only_its_caller(database_url: str) -> None:
    published: list = []
    engine, writer = await _writer(database_url, published)

    async def refused(tx: Transaction) -> None:
        raise Refused("no")

    results = await asyncio.gather(writer.run(record("a")), writer.run(refused), writer.run(record("b")), return_exceptions=True)
    await writer.stop()
    await engine.dispose()
    assert results[0] == "a" and isinstance(results[1], Refused) and results[2] == "b"
    assert [update.event_type for update in published] == ["a", "b"]


async def test_an_error_after_a_write_rolls_back_its_batch_and_the_rest_still_commits(database_url: str) -> None:
    published: list = []
    undone: list[str] = []
    engine, writer = await _writer(database_url, published)

    async def half_written(tx: Transaction) -> None:
        tx.record("half", strategy_id="s", symbol="X")
        tx.on_rollback(lambda: undone.append("half"))
        raise RuntimeError("bug after a write")

    results = await asyncio.gather(
        writer.run(record("a")), writer.run(half_written), writer.run(record("b")), return_exceptions=True
    )
    await writer.stop()
    async with engine.connect() as conn:
        logged = [row.event_type for row in await conn.execute(select(t.order_events).order_by(t.order_events.c.sequence))]
        sequences = [row.sequence for row in await conn.execute(select(t.order_events.c.sequence))]
    await engine.dispose()
    assert results[0] == "a" and isinstance(results[1], RuntimeError) and results[2] == "b"
    assert logged == ["a", "b"] and sorted(sequences) == [1, 2]
    assert "half" in undone
    assert [update.sequence for update in published] == [1, 2]


async def test_a_constraint_broken_by_one_change_fails_only_that_change(database_url: str) -> None:
    from sqlalchemy import insert

    published: list = []
    engine, writer = await _writer(database_url, published)

    async def duplicate_key(tx: Transaction) -> None:
        row = {"key": "k", "engaged": False, "reason": "", "reduce_only": False,
               "changed_at": datetime(2026, 11, 25, tzinfo=UTC)}
        await tx.conn.execute(insert(t.risk_state), [row, row])

    results = await asyncio.gather(
        writer.run(record("a")), writer.run(duplicate_key), writer.run(record("b")), return_exceptions=True
    )
    await writer.stop()
    await engine.dispose()
    assert results[0] == "a" and results[2] == "b"
    assert type(results[1]).__name__ == "ChangeRefused"  # a StoreUnavailable that will not pass by itself
    assert [update.sequence for update in published] == [1, 2]


async def test_after_a_database_error_the_next_batch_commits_on_a_fresh_connection(database_url: str) -> None:
    from sqlalchemy import text

    published: list = []
    engine, writer = await _writer(database_url, published)
    connections: list[object] = []

    async def broken(tx: Transaction) -> None:
        connections.append(await tx.conn.get_raw_connection())
        tx.record("lost", strategy_id="s", symbol="X")
        await tx.conn.execute(text("SELECT * FROM no_such_table"))

    async def after(tx: Transaction) -> str:
        connections.append(await tx.conn.get_raw_connection())
        return await record("after")(tx)

    failed = await asyncio.gather(writer.run(broken), return_exceptions=True)
    assert await writer.run(after) == "after"
    await writer.stop()
    async with engine.connect() as conn:
        logged = [row.event_type for row in await conn.execute(select(t.order_events))]
    await engine.dispose()
    assert type(failed[0]).__name__ == "StoreUnavailable"
    assert logged == ["after"] and [update.sequence for update in published] == [1]
    assert connections[0] is not connections[1]


async def test_a_change_queued_without_waiting_commits_and_none_is_taken_after_stop(database_url: str) -> None:
    from execution_server.store.writer import WriterStopped

    published: list = []
    engine, writer = await _writer(database_url, published)
    queued = [writer.submit(record(name)) for name in ("a", "b")]  # no task, no await
    assert [await future for future in queued] == ["a", "b"]
    await writer.stop()
    await engine.dispose()

    late = writer.submit(record("late"))
    assert late.done() and isinstance(late.exception(), WriterStopped)
    with pytest.raises(WriterStopped):
        await writer.run(record("later"))
    assert [update.event_type for update in published] == ["a", "b"]


async def test_a_connection_lost_while_idle_costs_no_change(database_url: str) -> None:
    """The writer keeps its connection between batches; if the database drops it meanwhile, the
    next batch runs again on a fresh connection instead of failing its callers."""
    published: list = []
    engine, writer = await _writer(database_url, published)
    kept: list = []

    async def remember(tx: Transaction) -> str:
        kept.append(await tx.conn.get_raw_connection())
        return await record("before")(tx)

    assert await writer.run(remember) == "before"
    await _lose(kept[0].driver_connection)  # gone, as after a database restart
    assert await writer.run(record("after")) == "after"
    await writer.stop()
    async with engine.connect() as conn:
        logged = [(row.sequence, row.event_type) for row in await conn.execute(select(t.order_events))]
    await engine.dispose()
    assert sorted(logged) == [(1, "before"), (2, "after")]
    assert [update.sequence for update in published] == [1, 2]


async def _lose(driver: object) -> None:
    """Close a connection under the pool's feet, as the database would."""
    import aiosqlite

    if isinstance(driver, aiosqlite.Connection):
        await driver._execute(driver._conn.close)  # the sqlite3 handle, on aiosqlite's own thread
    else:
        await driver.close()  # type: ignore[attr-defined]  # asyncpg


async def test_an_unexpected_error_while_writing_fails_its_batch_and_the_writer_goes_on(database_url: str) -> None:
    published: list = []
    engine, writer = await _writer(database_url, published)

    class Unencodable:
        """Not a datetime: the event log's time column refuses it only when the batch is written."""

    async def odd(tx: Transaction) -> None:
        tx.record("odd", strategy_id="s", symbol="X")
        tx.updates[-1] = replace(tx.updates[-1], time=Unencodable())  # type: ignore[arg-type]

    failed = await asyncio.gather(writer.run(odd), return_exceptions=True)
    assert await writer.run(record("after")) == "after"
    await writer.stop()
    await engine.dispose()
    assert type(failed[0]).__name__ == "StoreUnavailable"
    assert [(update.sequence, update.event_type) for update in published] == [(1, "after")]


async def test_a_failing_hook_after_the_commit_does_not_stop_the_writer(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    calls: list[str] = []

    def on_commit(updates: list, payloads: list) -> None:
        calls.append(updates[0].event_type)
        raise RuntimeError("a bug after the commit")

    writer = GroupCommitWriter(engine, last_sequence=0, clock=lambda: datetime(2026, 11, 25, tzinfo=UTC), on_commit=on_commit)
    writer.start()
    assert await writer.run(record("a")) == "a"
    assert await writer.run(record("b")) == "b"
    await writer.stop()
    await engine.dispose()
    assert calls == ["a", "b"]


def _interrupt_next_commit(engine: object, monkeypatch: pytest.MonkeyPatch, *, lands: bool = False,
                           drops: bool = False) -> None:
    """The next batch's commit is sent and its answer never comes: the database committed it
    (`lands`) or not, and the writer cannot tell which. `drops`: the connection itself is gone
    (closed under the driver's feet) and nothing landed. The commit is SQLite's COMMIT, which
    goes to the driver with the statements; on PostgreSQL a COMMIT, or, for a batch that read
    nothing, its one statement alone, which is its commit; whichever comes first."""
    from execution_server.store import bulk

    dialect = engine.sync_engine.dialect  # type: ignore[attr-defined]
    lost = dialect.loaded_dbapi.OperationalError("the connection was lost during COMMIT")

    def interrupt(commit: Callable[[], Any], drop: Callable[[], None]) -> Any:
        """`commit` (or, dropped, the error it then raises), then the lost answer."""
        if drops:
            drop()
            return commit()  # raises: the connection is closed
        if lands:
            commit()
        raise lost

    if dialect.name == "sqlite":
        commit_there = bulk._commit

        def interrupted_there(connection: Any) -> None:
            monkeypatch.setattr(bulk, "_commit", commit_there)  # once
            interrupt(lambda: commit_there(connection), connection.close)

        monkeypatch.setattr(bulk, "_commit", interrupted_there)
        return
    commit, execute_alone = dialect.do_commit, bulk._execute_alone

    def once() -> None:
        dialect.do_commit = commit
        monkeypatch.setattr(bulk, "_execute_alone", execute_alone)

    def do_commit(dbapi_connection: Any) -> None:
        once()
        interrupt(lambda: commit(dbapi_connection), dbapi_connection._connection.terminate)

    async def alone(connection: Any, sql: str, arguments: list) -> None:
        once()
        if drops:
            connection.terminate()
        elif not lands:
            raise lost
        await execute_alone(connection, sql, arguments)  # dropped: raises, the connection is closed
        raise lost

    dialect.do_commit = do_commit
    monkeypatch.setattr(bulk, "_execute_alone", alone)


async def _logged(engine: object) -> list[tuple[int, str]]:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return sorted((row.sequence, row.event_type) for row in await conn.execute(select(t.order_events)))


@pytest.mark.parametrize("interruption", ["landed", "dropped"])
@pytest.mark.parametrize("reads", [False, True], ids=["writes only", "reads first"])
async def test_a_batch_whose_commit_lost_its_answer_ends_committed_when_it_landed_or_could_run_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch, reads: bool, interruption: str
) -> None:
    """`landed`: the log, asked on a new connection, says the batch committed: its caller is told
    so. `dropped`: the connection was lost and the log says nothing of it landed: it runs again,
    once, on the new connection. Either way its caller never sees the loss."""
    published: list = []
    engine, writer = await _writer(database_url, published)
    assert await writer.run(record("a")) == "a"
    _interrupt_next_commit(engine, monkeypatch, lands=interruption == "landed", drops=interruption == "dropped")
    assert await writer.run(record("b", reads=reads)) == "b"
    assert await writer.run(record("c")) == "c"
    await writer.stop()
    logged = await _logged(engine)
    await engine.dispose()
    assert logged == [(1, "a"), (2, "b"), (3, "c")]
    assert [(update.sequence, update.event_type) for update in published] == [(1, "a"), (2, "b"), (3, "c")]


@pytest.mark.parametrize("reads", [False, True], ids=["writes only", "reads first"])
async def test_a_commit_that_did_not_land_is_rolled_back_and_its_numbers_reused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, reads: bool
) -> None:
    published: list = []
    undone: list[str] = []
    engine, writer = await _writer(database_url, published)

    async def b(tx: Transaction) -> str:
        tx.on_rollback(lambda: undone.append("b"))
        return await record("b", reads=reads)(tx)

    assert await writer.run(record("a")) == "a"
    _interrupt_next_commit(engine, monkeypatch)
    failed = await asyncio.gather(writer.run(b), return_exceptions=True)
    assert await writer.run(record("c")) == "c"
    await writer.stop()
    logged = await _logged(engine)
    await engine.dispose()
    assert type(failed[0]).__name__ == "StoreUnavailable" and undone == ["b"]
    assert logged == [(1, "a"), (2, "c")]  # no gap: sequence 2 was never committed before
    assert [(update.sequence, update.event_type) for update in published] == [(1, "a"), (2, "c")]


@pytest.mark.parametrize("asked", ["refuses", "never answers"])
async def test_a_commit_in_doubt_never_has_its_numbers_reused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, asked: str
) -> None:
    """The database cannot be asked whether the COMMIT landed (it did): the caller is told it
    failed, and the next batch takes the numbers after it, instead of colliding with it."""
    from execution_server.store import repository, writer as writer_module

    async def unreachable(conn: object, sequence: int) -> bool:
        if asked == "never answers":
            await asyncio.Event().wait()
        raise OSError("the database is unreachable")

    monkeypatch.setattr(writer_module, "OUTCOME_ASKS", 2)
    monkeypatch.setattr(writer_module, "OUTCOME_ASK_BACKOFF", Backoff(first=0.0))
    monkeypatch.setattr(writer_module, "OUTCOME_ASK_TIMEOUT", 0.05)
    published: list = []
    engine, writer = await _writer(database_url, published)
    assert await writer.run(record("a")) == "a"
    _interrupt_next_commit(engine, monkeypatch, lands=True)
    monkeypatch.setattr(repository, "has_event", unreachable)
    failed = await asyncio.gather(writer.run(record("b")), return_exceptions=True)
    monkeypatch.undo()
    assert await writer.run(record("c")) == "c"
    await writer.stop()
    logged = await _logged(engine)
    await engine.dispose()
    assert type(failed[0]).__name__ == "StoreUnavailable"
    assert logged == [(1, "a"), (2, "b"), (3, "c")]
    assert [(update.sequence, update.event_type) for update in published] == [(1, "a"), (3, "c")]


async def test_a_read_the_database_refuses_fails_only_its_change(database_url: str) -> None:
    """On PostgreSQL a refused statement aborts the whole transaction; the others of the batch
    must still commit (in the next one), and only the change whose read failed is told."""
    from sqlalchemy import text

    from execution_server.store.writer import StoreUnavailable

    published: list = []
    engine, writer = await _writer(database_url, published)

    async def bad_read(tx: Transaction) -> None:
        tx.record("bad", strategy_id="s", symbol="X")
        await tx.conn.execute(text("SELECT * FROM no_such_table"))

    results = await asyncio.gather(
        writer.run(record("a")), writer.run(bad_read), writer.run(record("b")), return_exceptions=True
    )
    await writer.stop()
    logged = await _logged(engine)
    await engine.dispose()
    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], StoreUnavailable)
    assert logged == [(1, "a"), (2, "b")]
    assert [update.sequence for update in published] == [1, 2]


async def test_a_row_the_database_cannot_write_fails_only_its_change(database_url: str) -> None:
    """An error at flush time (the rows are written together) is not any one change's, as far as
    the writer can tell: the batch is run again change by change, so only the culprit fails."""
    published: list = []
    engine, writer = await _writer(database_url, published)

    class Unencodable:
        """Not a datetime: the event log's time column refuses it only when the batch is written."""

    async def odd(tx: Transaction) -> None:
        tx.record("odd", strategy_id="s", symbol="X")
        tx.updates[-1] = replace(tx.updates[-1], time=Unencodable())  # type: ignore[arg-type]

    results = await asyncio.gather(
        writer.run(record("a")), writer.run(odd), writer.run(record("b")), return_exceptions=True
    )
    await writer.stop()
    logged = await _logged(engine)
    await engine.dispose()
    assert results[0] == "a" and results[2] == "b"
    assert type(results[1]).__name__ == "StoreUnavailable"
    assert logged == [(1, "a"), (2, "b")]


async def test_a_connection_lost_during_a_change_is_not_blamed_on_it(database_url: str) -> None:
    """The connection dies under one change's read: no change of the batch is at fault, so all
    of them run again on a fresh connection and all commit."""
    published: list = []
    engine, writer = await _writer(database_url, published)
    runs: list[str] = []

    async def unlucky(tx: Transaction) -> str:
        runs.append("unlucky")
        if len(runs) == 1:
            await _lose((await tx.conn.get_raw_connection()).driver_connection)
        tx.record("unlucky", strategy_id="s", symbol="X")
        await tx.get_order("o-none")  # a read on the connection, lost or not
        return "unlucky"

    results = await asyncio.gather(
        writer.run(record("a")), writer.run(unlucky), writer.run(record("b")), return_exceptions=True
    )
    await writer.stop()
    logged = await _logged(engine)
    await engine.dispose()
    assert results == ["a", "unlucky", "b"]
    assert runs == ["unlucky", "unlucky"]
    assert [event for _, event in logged] == ["a", "unlucky", "b"]
