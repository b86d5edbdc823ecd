"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from execution_server.store.database import create_engine
from execution_server.store.migrate import is_at_head, upgrade_to_head
from execution_server.store.tables import metadata


async def test_head_matches_the_declared_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        assert await is_at_head(engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": False}), metadata)
            )
        assert differences == []
        await upgrade_to_head(engine)  # idempotent
    finally:
        await engine.dispose()
