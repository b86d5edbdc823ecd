"""The audit trail's rows: appended once, never changed, read newest first in pages by id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from execution_server.store import tables as t
from execution_server.store.repository.records import StoredOperatorAction


async def insert_operator_action(conn: AsyncConnection, *, at: datetime, actor: str, action: str, details: str) -> int:
    inserted = await conn.execute(
        insert(t.operator_actions)
        .values(at=at, actor=actor, action=action, details=details)
        .returning(t.operator_actions.c.id)
    )
    return int(inserted.scalar_one())


async def recent_operator_actions(conn: AsyncConnection, limit: int, before_id: int | None = None) -> list[StoredOperatorAction]:
    """At most `limit` actions, newest first; with before_id, only those older than it."""
    columns = t.operator_actions.c
    query = select(t.operator_actions).order_by(columns.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(columns.id < before_id)
    return [
        StoredOperatorAction(row.id, row.at, row.actor, row.action, row.details)
        for row in await conn.execute(query)
    ]
