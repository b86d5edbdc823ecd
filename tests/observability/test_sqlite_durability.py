"""SQLite's durability as a setting: the PRAGMA in effect on the service's own connections."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from execution_server.config import ConfigError, load_settings
from execution_server.store.database import create_engine
from tests.harness import running, settings_for

# PRAGMA synchronous answers with a number: 1 NORMAL, 2 FULL.
LEVELS = {"NORMAL": 1, "FULL": 2}


async def pragma_synchronous(engine) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        level = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
        journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
    return level, journal


@pytest.mark.parametrize("choice", ["NORMAL", "FULL"])
async def test_the_service_connects_with_the_synchronous_level_asked_for(tmp_path: Path, choice: str) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'execution.db'}", tmp_path, sqlite_synchronous=choice)
    async with running(settings) as client:
        await client.place()  # the writer's connection, and a read one below
        assert await pragma_synchronous(client.app.engine) == (LEVELS[choice], "wal")


def test_normal_is_the_default_and_anything_else_is_refused() -> None:
    assert load_settings({}).sqlite_synchronous == "NORMAL"
    assert load_settings({"EXECUTION_SQLITE_SYNCHRONOUS": "full"}).sqlite_synchronous == "FULL"
    with pytest.raises(ConfigError, match="EXECUTION_SQLITE_SYNCHRONOUS: expected 'NORMAL' or 'FULL', got 'EXTRA'"):
        load_settings({"EXECUTION_SQLITE_SYNCHRONOUS": "EXTRA"})
    with pytest.raises(ValueError, match="NORMAL or FULL"):
        create_engine("sqlite+aiosqlite:///:memory:", sqlite_synchronous="OFF")
