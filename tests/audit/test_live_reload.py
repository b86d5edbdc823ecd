"""With TRADING_MODE=LIVE a SIGHUP that would switch the safe default limits off is refused: the
limits in force stay, and the trail records the refusal. (LIVE needs Alpaca's live URL, which no
test can reach: the risk shell is driven here on a real database, as the service drives it.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from execution_server.config import LIVE_URL, Settings
from execution_server.risk.control import RiskControl
from execution_server.store import repository
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from execution_server.store.writer import GroupCommitWriter
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET
from tests.waiting import eventually


async def test_live_refuses_a_reload_to_limits_none_and_records_it(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text('[risk]\nmax_order_quantity = "5"\n')
    settings = Settings(broker="alpaca", trading_mode="LIVE", alpaca_base_url=LIVE_URL, alpaca_api_key=ALPACA_KEY,
                        alpaca_secret_key=ALPACA_SECRET, config_path=path, risk={"max_order_quantity": "5"})
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    writer = GroupCommitWriter(engine, last_sequence=0, clock=lambda: datetime.now(UTC), on_commit=lambda updates, payloads: None)
    writer.start()
    risk = RiskControl(settings=settings, reference_price=lambda symbol: None, writer=writer, stored_kill_switch=None)

    async def recorded() -> list:
        async with engine.connect() as conn:
            return await repository.recent_operator_actions(conn, 10)

    try:
        path.write_text('[risk]\nlimits = "none"\n')
        risk.reload_limits()
        [entry] = await eventually(recorded, lambda rows: len(rows) == 1)
        assert risk.limits.defaults.order.max_quantity == Decimal(5) and not risk.limits.safe_defaults_off
        assert entry.action == "ReloadRiskLimits" and entry.actor == "signal:SIGHUP"
        assert json.loads(entry.details)["refused"].startswith('risk.limits: "none" is refused with TRADING_MODE=LIVE')
    finally:
        await risk.stop()
        await writer.stop()
        await engine.dispose()
