"""The positions table: every strategy's and the account's, loaded at start-up, upserted per batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from execution_server.store import bulk
from execution_server.store import tables as t
from execution_server.store.repository.records import StoredPosition


async def load_positions(conn: AsyncConnection) -> list[StoredPosition]:
    rows = (await conn.execute(select(t.positions))).mappings()
    return [
        StoredPosition(r["strategy_id"], r["symbol"], r["quantity"], r["average_entry_price"], r["realized_pnl"])
        for r in rows
    ]


def save_positions(statements: bulk.Statements, positions: Sequence[StoredPosition], at: datetime) -> None:
    """Insert or overwrite positions by (strategy, symbol), in one statement."""
    if not positions:
        return
    rows = [
        {
            "strategy_id": position.strategy_id,
            "symbol": position.symbol,
            "quantity": position.quantity,
            "average_entry_price": position.average_entry_price,
            "realized_pnl": position.realized_pnl,
            "updated_at": at,
        }
        for position in positions
    ]
    statements.add(_upsert_position(statements.dialect), rows)


def _upsert_position(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (strategy_id, symbol) DO UPDATE, which both SQLite and PostgreSQL
    speak, each through its own dialect's construct."""
    if dialect not in _UPSERT_POSITION:
        make = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
        statement = make(t.positions)
        changed = {name: statement.excluded[name] for name in ("quantity", "average_entry_price", "realized_pnl", "updated_at")}
        _UPSERT_POSITION[dialect] = statement.on_conflict_do_update(index_elements=["strategy_id", "symbol"], set_=changed)
    return _UPSERT_POSITION[dialect]


_UPSERT_POSITION: dict[str, Insert] = {}
