"""The trading day's opening values, saved by the risk shell on a real database: on the day's
first start, after a repair moved them, and at the UTC day roll (under the new day)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from execution_server.config import Settings
from execution_server.risk import control
from execution_server.risk.control import RiskControl
from execution_server.store import repository
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from execution_server.store.writer import GroupCommitWriter
from tests.waiting import eventually

D = Decimal


async def test_the_days_opening_values_are_saved_at_start_after_a_repair_and_at_the_day_roll(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [datetime(2026, 11, 25, 23, 59, 50, tzinfo=UTC)]
    monkeypatch.setattr(control, "_now", lambda: clock[0])
    prices = {"AAPL": D(100)}
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    writer = GroupCommitWriter(engine, last_sequence=0, clock=lambda: clock[0], on_commit=lambda updates, payloads: None)
    writer.start()
    risk = RiskControl(settings=Settings(), reference_price=prices.get, writer=writer, stored_kill_switch=None)

    async def saved(day: date) -> dict[str, Decimal]:
        async with engine.connect() as conn:
            return await repository.load_day_openings(conn, day)

    try:
        risk.portfolio.position_adjusted("alpha", "AAPL", D(10), D(100))  # loaded at start-up
        await risk.resume_day(date(2026, 11, 25), {}, {})  # nothing saved for today: the day starts
        assert await saved(date(2026, 11, 25)) == {"alpha": 1000, "": 1000}

        risk.start_watch(interval_seconds=0.01)
        risk.portfolio.position_adjusted("alpha", "AAPL", D(12), D(100))  # a repair: +2 at 100
        await eventually(lambda: saved(date(2026, 11, 25)), lambda rows: rows == {"alpha": 1200, "": 1200})

        prices["AAPL"] = D(110)
        clock[0] = datetime(2026, 11, 26, 0, 0, 1, tzinfo=UTC)
        await eventually(lambda: saved(date(2026, 11, 26)), lambda rows: rows == {"alpha": 1320, "": 1320})
        assert await saved(date(2026, 11, 25)) == {"alpha": 1200, "": 1200}  # the day before stays
    finally:
        await risk.stop()
        await writer.stop()
        await engine.dispose()
