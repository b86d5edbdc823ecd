"""The single writer: every change goes through it, batched into one transaction (group commit).

Concurrent requests queue their operations; the writer drains the queue and runs a whole
batch in one transaction, so a burst of N orders costs one commit, not N. Because there is
one writer, sequence numbers are handed out in order and commit in order: the high-water
mark of the event log is simply the last committed sequence. Row writes are held by the
transaction (store/transaction.py) and written at commit, one statement per table per batch
(on PostgreSQL one statement for the whole batch: store/bulk.py).

An operation validates before it writes, so a refusal (an illegal transition, a duplicate:
the exception types the composition root declares as refusals) raises before touching the
database and fails only its own caller. Any other exception may have come after a write, so
it rolls the whole batch back: the failing caller gets its error and the other operations of
the batch run again in the next one. That includes a statement the database refuses during an
operation (on PostgreSQL it aborts the whole transaction, so the batch cannot go on): the
operation gets StoreUnavailable, the others run again. What fails when the held rows are
written belongs to no one operation the writer can name, so the batch runs again one
operation at a time and only the culprit fails. A lost connection is nobody's fault: the
whole batch runs again once on a fresh connection, then fails if it fails again. Either way
in-memory changes are undone through the rollback hooks and the sequence counter is rewound.

A failure during COMMIT itself (the connection dropped after the COMMIT was sent) leaves it
unknown whether the batch committed. The writer asks the database on a fresh connection
whether the batch's last sequence is in the log: if it is, the batch committed and is treated
as such; if not, it is rolled back as above (and, if it was the connection that was lost, run
again once on a fresh one, as a batch whose connection is found dead before its commit).
On PostgreSQL a batch that read nothing has no COMMIT: its one statement runs alone and is its
commit (store/bulk.py), with the same outcomes. If the database cannot be asked, the batch's
callers are told it failed, and its sequence numbers are skipped rather than handed out again:
had it committed after all, reusing them would make every later batch collide with it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from execution_server.backoff import Backoff
from execution_server.domain.events import OrderUpdate
from execution_server.store import bulk, repository
from execution_server.store.transaction import Transaction

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 512
# Waits before each attempt to ask whether a batch whose COMMIT failed is in the log: a few
# seconds in all, enough for a database restart or a proxy to come back. Each attempt has its
# own bound, since a connection to a database that is down can take a minute to fail.
OUTCOME_ASKS = 5
OUTCOME_ASK_BACKOFF = Backoff(first=0.1, factor=3.0, cap=2.0)  # then 0.3, 0.9, 2.0 s
OUTCOME_ASK_TIMEOUT = 2.0


class StoreUnavailable(Exception):
    """The database could not commit a change; nothing of it was kept."""


class ChangeRefused(StoreUnavailable):
    """The database refused this one change itself (a constraint, a value it cannot store):
    unlike an outage, running it again would be refused again."""


class WriterStopped(Exception):
    """The writer has stopped; the service is shutting down."""


Operation = Callable[[Transaction], Awaitable[Any]]


class GroupCommitWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        last_sequence: int,
        clock: Callable[[], datetime],
        on_commit: Callable[[list[OrderUpdate], list[bytes]], None],
        max_batch: int = MAX_BATCH,
        refusals: tuple[type[Exception], ...] = (),
        encode: Callable[[OrderUpdate], bytes] = lambda update: b"",
        on_broker_ids_taken: Callable[[dict[str, str]], None] = lambda taken: None,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._on_batch = on_batch  # (changes, seconds) of each batch, for the metrics
        self._on_broker_ids_taken = on_broker_ids_taken
        self._encode = encode
        self._engine = engine
        self._max_batch = max_batch
        self._refusals = refusals
        self._retry: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._last_sequence = last_sequence
        self._clock = clock
        self._on_commit = on_commit
        self._queue: asyncio.Queue[tuple[Operation, asyncio.Future[Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # The writer keeps one connection for its batches: checking one out of the pool and
        # handing it back (with the pool's reset) cost a round trip or two per batch.
        self._conn: AsyncConnection | None = None
        # Whether nothing else is under way that could join a batch or use the loop while it
        # runs (the application's: one order call at most). Then a small batch runs on the
        # loop's thread on SQLite (bulk.Statements): at concurrency 1 nothing waits behind it.
        # Never from a batch's size alone: a batch run on the loop takes no company, so the
        # next one would be as small, and batching would end under load.
        self.writes_alone: Callable[[], bool] = lambda: False

    @property
    def last_sequence(self) -> int:
        return self._last_sequence

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop. Idempotent."""
        self._stopping = True
        if self._task is not None:
            await self._queue.put((_stop_marker, asyncio.get_running_loop().create_future()))
            await self._task
            self._task = None
        await self._release_connection()

    async def run(self, operation: Callable[[Transaction], Awaitable[T]]) -> T:
        return await self.submit(operation)

    def submit(self, operation: Callable[[Transaction], Awaitable[T]]) -> asyncio.Future[T]:
        """Queue `operation` without waiting: the future holds its result once its batch has
        committed (or its error). For callers that need no task of their own per change."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._stopping:
            future.set_exception(WriterStopped("the service is shutting down"))
        else:
            self._queue.put_nowait((operation, future))
        return future

    async def _run(self) -> None:
        while True:
            batch, self._retry = self._retry, []
            if not batch:
                batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            stop = any(operation is _stop_marker for operation, _ in batch)
            batch = [(operation, future) for operation, future in batch if operation is not _stop_marker]
            if batch:
                started = time.perf_counter()
                await self._commit_batch(batch)
                if self._on_batch is not None:
                    self._on_batch(len(batch), time.perf_counter() - started)
            if stop and self._queue.empty() and not self._retry:
                return

    async def _commit_batch(self, batch: list[tuple[Operation, asyncio.Future[Any]]], *, retried: bool = False) -> None:
        results: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        tx: Transaction | None = None
        reached_commit = False
        try:
            conn = await self._connection()
            async with conn.begin():
                tx = Transaction(conn, self._last_sequence + 1, self._clock())
                for index, (operation, future) in enumerate(batch):
                    try:
                        results.append((future, await operation(tx), None))
                    except self._refusals as refusal:  # raised before writing: only its caller fails
                        results.append((future, None, refusal))
                    except (SQLAlchemyError, OSError) as error:
                        if connection_lost(error):
                            raise  # not this operation's fault: the whole batch, below
                        # The database refused one of this operation's statements (on PostgreSQL
                        # the transaction is aborted with it): only this operation fails.
                        refused = _refusal(error)
                        raise _OperationFailed(index, refused, database=True) from error
                    except Exception as error:
                        raise _OperationFailed(index, error) from error
                statements = bulk.Statements(conn.dialect.name)
                tx.pending.write_into(statements, tx.now)
                payloads = [self._encode(update) for update in tx.updates]  # the one serialisation
                repository.insert_events(statements, tx.updates, payloads)
                try:
                    # On SQLite the COMMIT goes to the driver with the statements, in one call. On
                    # PostgreSQL a batch that read nothing runs as one statement outside any
                    # transaction (`alone`), if it logged an update: its last sequence tells
                    # afterwards whether it landed, should the connection drop.
                    await statements.run(conn, commit=True, inline=self.writes_alone(), alone=bool(tx.updates))
                finally:
                    reached_commit = statements.reached_commit
                reached_commit = True  # what fails from here on is the commit: its outcome is unknown
        except _OperationFailed as failed:
            if failed.database:
                log.error("a change was refused by the database (%s); its batch rolled back and runs again without it",
                          failed.__cause__)
                await self._release_connection()  # cheap insurance: the next batch starts on a clean one
            else:
                log.error("a change failed after it may have written; its batch rolled back", exc_info=failed.error)
            self._undo(tx)
            operation, future = batch[failed.index]
            future.set_exception(failed.error)
            self._retry = [item for position, item in enumerate(batch) if position != failed.index]
            return
        except (SQLAlchemyError, OSError) as error:
            if isinstance(error, IntegrityError) and await self._broker_ids_taken(tx, batch):
                return  # rolled back, and queued to run again with the taken ids known
            if isinstance(error, (IntegrityError, DataError)) or not (reached_commit or connection_lost(error)):
                # Some operation's rows broke a constraint or were refused when written
                # together: run the batch again one by one, so that only that operation fails.
                await self._split(batch, tx, _refusal(error),
                                  retried=retried)
                return
            await self._release_connection()  # it may be broken: the next batch takes a fresh one
            committed = await self._committed_anyway(tx) if reached_commit else False
            if committed:  # on to the committed path below, as if the COMMIT had answered
                log.warning("the COMMIT failed (%s) but the batch is in the log: it committed", error)
            else:
                self._undo(tx)
                if committed is None:
                    assert tx is not None  # only a batch that logged updates can be in doubt
                    self._last_sequence = tx.updates[-1].sequence  # never handed out again
                    log.error(
                        "the COMMIT of a batch of %d changes failed (%s) and the database could not be asked "
                        "whether it landed; its callers are told it failed. If it did land, the in-memory state "
                        "lags the database until a restart reloads it", len(batch), error,
                    )
                elif (isinstance(error, DBAPIError) and error.connection_invalidated and not retried
                      and (not reached_commit or tx is not None and tx.updates)):
                    # The kept connection was found dead before the commit (the database restarted,
                    # a proxy dropped it while idle), or the batch was sent and the log says it did
                    # not land: nothing was written, so the batch runs again, once, on a fresh
                    # connection, which the pool checks before handing it over.
                    log.warning("the writer's connection was lost (%s); running the batch again on a new one", error)
                    await self._commit_batch(batch, retried=True)
                    return
                log.error("batch of %d changes rolled back: %s", len(batch), error)
                self._fail(batch, StoreUnavailable(f"the database refused the change: {error.__class__.__name__}"))
                return
        except Exception as error:  # noqa: BLE001 - a surprise from the driver or the encoding
            # Raised while writing the held rows, so it cannot be pinned on one operation: the
            # batch is rolled back and run again one by one, rather than the writer dying and
            # every caller waiting for ever, or every caller failing for one row.
            log.exception("batch of %d changes rolled back by an unexpected error", len(batch))
            await self._release_connection()
            if reached_commit:  # not a row's fault, and splitting would risk a batch committed twice
                self._undo(tx)
                self._fail(batch, StoreUnavailable(f"the change could not be written: {error.__class__.__name__}"))
                return
            await self._split(batch, tx, StoreUnavailable(f"the change could not be written: {error.__class__.__name__}"),
                              retried=retried)
            return
        assert tx is not None
        if tx.updates:
            self._last_sequence = tx.updates[-1].sequence
        # Committed: whatever a hook does, the callers get their results and the writer goes on.
        hooks, updates = list(tx._on_commit), tx.updates
        if updates:
            hooks.append(lambda: self._on_commit(updates, payloads))
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - a bug in memory-side bookkeeping, not in the data
                log.exception("a hook after a committed batch failed; the batch stays committed")
        for future, result, error in results:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    async def _split(
        self, batch: list[tuple[Operation, asyncio.Future[Any]]], tx: Transaction | None, failure: StoreUnavailable,
        *, retried: bool,
    ) -> None:
        """After a failure no one operation can be blamed for: roll back, then run each
        operation in a batch of its own; a batch of one that fails is its operation's failure."""
        self._undo(tx)
        if len(batch) == 1:
            log.error("change refused by the database: %s", failure)
            self._fail(batch, failure)
            return
        for item in batch:
            await self._commit_batch([item], retried=retried)

    async def _broker_ids_taken(self, tx: Transaction | None, batch: list[tuple[Operation, asyncio.Future[Any]]]) -> bool:
        """After the unique constraint refused a batch: were broker ids it gave orders already
        held by other orders (a broker that repeats ids, an order closed long ago)? Asked only
        now, on a fresh connection, so that no acknowledgement pays for a read. If so, the batch
        is undone and run again, its orders recording the anomaly instead of those ids."""
        claimed = tx.pending.claimed_broker_ids if tx is not None else {}
        if not claimed:
            return False
        try:
            async with self._engine.connect() as conn:
                held = await repository.holders_of_broker_ids(conn, list(claimed))
        except (SQLAlchemyError, OSError) as error:
            log.warning("could not ask which broker ids are taken: %s", error)
            return False
        taken = {broker_id: holder for broker_id, holder in held.items() if holder != claimed[broker_id]}
        if not taken:
            return False
        self._undo(tx)
        self._on_broker_ids_taken(taken)
        self._retry.extend(batch)  # extend: a batch being split runs its parts one by one
        return True

    async def _committed_anyway(self, tx: Transaction | None) -> bool | None:
        """After a failure during COMMIT: whether the batch committed, by its last sequence in
        the log, read on a fresh connection; None if the database cannot be asked. A batch that
        logged no update took no sequence number and cannot be told: it counts as not committed."""
        if tx is None or not tx.updates:
            return False
        backoff = dataclasses.replace(OUTCOME_ASK_BACKOFF)
        for attempt in range(OUTCOME_ASKS):
            if attempt:  # the first time at once
                await asyncio.sleep(backoff.next_delay())
            try:
                async with asyncio.timeout(OUTCOME_ASK_TIMEOUT), self._engine.connect() as conn:
                    return await repository.has_event(conn, tx.updates[-1].sequence)
            except (SQLAlchemyError, OSError) as error:  # TimeoutError is an OSError
                log.warning("asking whether a batch committed failed: %s", error)
        return None

    @staticmethod
    def _fail(batch: list[tuple[Operation, asyncio.Future[Any]]], failure: Exception) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(failure)

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self._engine.connect()
        return self._conn

    async def _release_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception as error:  # noqa: BLE001 - already broken: nothing left to keep
                log.warning("closing the writer's connection failed: %s", error)

    @staticmethod
    def _undo(tx: Transaction | None) -> None:
        if tx is not None:
            for undo in reversed(tx._on_rollback):
                undo()


def connection_lost(error: BaseException) -> bool:
    """Whether a database error is the connection's (dropped, timed out, never made) rather
    than a refusal of what a change asked for: that is no operation's fault."""
    if isinstance(error, (OSError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and (error.connection_invalidated or isinstance(error.orig, OSError))


def _reason(error: BaseException) -> str:
    """The database's own words when there are some, else the kind of error."""
    orig = getattr(error, "orig", None)
    words = str(orig).strip() if orig is not None else ""
    return words or error.__class__.__name__


def _refusal(error: Exception) -> StoreUnavailable:
    """A constraint or a value the database cannot store is refused for ever (ChangeRefused);
    anything else (a full disk, a read-only file) may pass once the store is fixed."""
    kind = ChangeRefused if isinstance(error, IntegrityError | DataError) else StoreUnavailable
    return kind(f"the database refused the change: {_reason(error)}")


class _OperationFailed(Exception):
    def __init__(self, index: int, error: Exception, *, database: bool = False) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error
        self.database = database  # the database refused one of its statements


async def _stop_marker(tx: Transaction) -> None:  # pragma: no cover - never run
    return None
