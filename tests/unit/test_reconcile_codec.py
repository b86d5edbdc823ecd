"""store/codec.py's reconcile reports: a run recorded and read back is the run that was recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from execution_server.reconcile.compare import Discrepancy, DiscrepancyKind, ReconcileReport, ReconciliationResult
from execution_server.store import repository
from execution_server.store.codec import reconcile_report_from_row, reconcile_result_to_json
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from tests.builders import T0


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


async def test_a_recorded_report_reads_back_unchanged(engine: AsyncEngine) -> None:
    found = (
        Discrepancy(DiscrepancyKind.POSITION_QUANTITY, symbol="AAPL", local_quantity="10", broker_quantity="-2.5"),
        Discrepancy(
            DiscrepancyKind.ORDER_UNKNOWN_LOCALLY, symbol="MSFT", broker_quantity="3", detail="broker: new, «é»",
            client_order_id="c-1",
        ),
        Discrepancy(DiscrepancyKind.ORDER_STATUS, symbol="MSFT", order_id="o-2", client_order_id="c-2", detail="x"),
    )
    async with engine.begin() as conn:
        run_id = await repository.insert_reconcile_run(
            conn, checked_at=T0, trigger="timer", repair=True, has_discrepancies=False,
            result=reconcile_result_to_json((), ()),
        )
        await repository.complete_reconcile_run(
            conn, run_id, has_discrepancies=True, result=reconcile_result_to_json(found, found[2:])
        )
    async with engine.connect() as conn:
        [row] = await repository.recent_reconcile_runs(conn, 10)

    assert reconcile_report_from_row(row) == ReconcileReport(
        run_id, "timer", True, ReconciliationResult(found, T0), unresolved=found[2:]
    )
