"""Reconciliation runs: a row reserved first (its id names the run's repairs), completed with the report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from execution_server.store import tables as t


async def insert_reconcile_run(
    conn: AsyncConnection, *, checked_at: datetime, trigger: str, repair: bool, has_discrepancies: bool, result: str
) -> int:
    inserted = await conn.execute(
        insert(t.reconcile_runs)
        .values(checked_at=checked_at, trigger=trigger, repair=repair, has_discrepancies=has_discrepancies, result=result)
        .returning(t.reconcile_runs.c.run_id)
    )
    return int(inserted.scalar_one())


async def complete_reconcile_run(conn: AsyncConnection, run_id: int, *, has_discrepancies: bool, result: str) -> None:
    await conn.execute(
        update(t.reconcile_runs)
        .where(t.reconcile_runs.c.run_id == run_id)
        .values(has_discrepancies=has_discrepancies, result=result)
    )


async def recent_reconcile_runs(conn: AsyncConnection, limit: int) -> list[dict]:  # type: ignore[type-arg]
    query = select(t.reconcile_runs).order_by(t.reconcile_runs.c.run_id.desc()).limit(limit)
    return [dict(row) for row in (await conn.execute(query)).mappings()]
