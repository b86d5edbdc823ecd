"""The audit trail's shell: entries written through the single writer, inside the
transaction of the change they describe (`write`) or in one of their own (`record`), and
read back newest first."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.audit.entry import AuditEntry, OperatorAction
from execution_server.store import repository
from execution_server.store.reads import read_connection
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

# The id column is a 32-bit integer on every database: a larger before_id means "from the newest".
_MAX_ID = 2**31 - 1


async def write(tx: Transaction, entry: AuditEntry) -> int:
    """Record the entry in this transaction (it commits or rolls back with the change); its id."""
    action_id = await repository.insert_operator_action(
        tx.conn, at=tx.now, actor=entry.actor, action=entry.action, details=entry.details_json()
    )
    # Only what the operator did and who; the details are in the database, bounded.
    tx.on_commit(lambda: log.info("operator action %d: %s by %s", action_id, entry.action, entry.actor))
    return action_id


class AuditTrail:
    def __init__(self, writer: GroupCommitWriter, engine: AsyncEngine) -> None:
        self._writer = writer
        self._engine = engine

    async def record(self, entry: AuditEntry) -> int:
        """Record an action that changed nothing in the database (the simulator's controls)."""

        async def record_operator_action(tx: Transaction) -> int:
            return await write(tx, entry)

        return await self._writer.run(record_operator_action)

    async def recent(self, limit: int, before_id: int | None = None) -> list[OperatorAction]:
        """At most `limit` actions, newest first; with before_id, those older than it."""
        if before_id is not None and before_id > _MAX_ID:
            before_id = None  # past every id there can be; PostgreSQL would refuse it as a 32-bit integer
        async with read_connection(self._engine) as conn:
            rows = await repository.recent_operator_actions(conn, limit, before_id)
        return [OperatorAction(row.id, row.at, row.actor, row.action, row.details) for row in rows]
