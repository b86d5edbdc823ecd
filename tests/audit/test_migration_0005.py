"""Revision 0005 (operator_actions) upgrades and downgrades, on SQLite and PostgreSQL, and a
downgrade keeps the rest of the schema at 0004."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, inspect

from execution_server.store.database import create_engine
from execution_server.store.migrate import alembic_config, is_at_head, upgrade_to_head


def _to(revision: str, direction: str):  # type: ignore[no-untyped-def]
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)

    return run


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_0005_adds_operator_actions_and_its_downgrade_removes_only_it(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        async with engine.begin() as conn:
            at_head = await conn.run_sync(_tables)
            assert "operator_actions" in at_head
            await conn.run_sync(_to("0004", "downgrade"))
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == at_head - {"operator_actions"}
        assert not await is_at_head(engine)
        await upgrade_to_head(engine)
        assert await is_at_head(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == at_head
    finally:
        await engine.dispose()
