"""Alembic environment. Runs on a connection handed over by execution_server.store.migrate,
so that migrations share the service's async engine (aiosqlite or asyncpg)."""

from __future__ import annotations

from alembic import context

from execution_server.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `execution-server migrate`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
