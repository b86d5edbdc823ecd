"""The risk layer's shell: limits from the config file (re-read on SIGHUP), the kill switch
persisted so that a restart does not release it, and engagement that can cancel open orders.

The pure parts (checks, manager, portfolio) do no I/O; this module is where they meet the
database and the OMS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from execution_server.config import Settings
from execution_server.risk.kill_switch import KillSwitchState
from execution_server.risk.limits import RiskLimits, RiskLimitsError, load_risk_limits_file, parse_risk_limits
from execution_server.risk.manager import RiskManager
from execution_server.risk.portfolio import PortfolioView
from execution_server.store import repository
from execution_server.store.repository import StoredKillSwitch
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)


class OpenOrderCanceller(Protocol):
    async def cancel_all_open(self, reason: str) -> list[str]: ...


def _now() -> datetime:
    return datetime.now(UTC)


class RiskControl:
    def __init__(
        self,
        *,
        settings: Settings,
        reference_price: Callable[[str], Decimal | None],
        writer: GroupCommitWriter,
        stored_kill_switch: StoredKillSwitch | None,
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._orders: OpenOrderCanceller | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.portfolio = PortfolioView()
        kill_switch = None
        if stored_kill_switch is not None:
            kill_switch = KillSwitchState(
                stored_kill_switch.engaged,
                stored_kill_switch.reason,
                stored_kill_switch.reduce_only,
                stored_kill_switch.changed_at,
            )
        self.manager = RiskManager(
            parse_risk_limits(settings.risk),
            self.portfolio,
            reference_price,
            kill_switch=kill_switch,
            on_kill_switch=self._persist_in_background,
        )

    def bind_orders(self, orders: OpenOrderCanceller) -> None:
        self._orders = orders

    def start_watch(self, interval_seconds: float = 5.0) -> None:
        """Off the order path: refresh every mark and trip daily-loss limits, and roll the
        trading day at UTC midnight (the kill switch is never released by a day roll)."""

        async def watch() -> None:
            day = _now().date()
            while True:
                await asyncio.sleep(interval_seconds)
                try:
                    if _now().date() != day:
                        day = _now().date()
                        self.manager.start_new_day()
                        log.info("risk: new trading day %s", day)
                    self.manager.evaluate_daily_loss()
                except Exception:
                    log.exception("risk watch failed; retrying")

        task = asyncio.get_running_loop().create_task(watch(), name="risk-watch")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            if task.get_name() == "risk-watch":
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def limits(self) -> RiskLimits:
        return self.manager.limits

    async def set_kill_switch(
        self, *, engaged: bool, reason: str, reduce_only: bool, cancel_open_orders: bool
    ) -> tuple[KillSwitchState, list[str]]:
        state = KillSwitchState.engage(reason, _now(), reduce_only) if engaged else KillSwitchState.release(_now())
        await self._persist(state)  # persisted first: a crash right after still finds it engaged
        self.manager.set_kill_switch(state)
        cancelled: list[str] = []
        if engaged and cancel_open_orders and self._orders is not None:
            cancelled = await self._orders.cancel_all_open(f"kill switch: {reason}")
        return state, cancelled

    def halt(self, reason: str) -> None:
        """Engage the kill switch from inside the service (reconciliation found what it cannot explain)."""
        state = KillSwitchState.engage(reason, _now())
        self.manager.set_kill_switch(state)
        self._persist_in_background(state)

    def reload_limits(self) -> None:
        """Re-read the [risk] table of the config file; on any error keep the limits in force."""
        path = self._settings.config_path
        if path is None:
            log.warning("SIGHUP: no EXECUTION_CONFIG file to reload risk limits from")
            return
        try:
            limits = load_risk_limits_file(path)
        except RiskLimitsError as error:  # missing, unreadable, not TOML, or a bad limit
            log.error("SIGHUP: risk limits in %s not reloaded, the old ones stay in force: %s", path, error)
            return
        self.manager.replace_limits(limits)
        log.warning("SIGHUP: risk limits reloaded from %s", path)

    async def _persist(self, state: KillSwitchState) -> None:
        stored = StoredKillSwitch(state.engaged, state.reason, state.reduce_only, state.changed_at or _now())

        async def op(tx: Transaction) -> None:
            await repository.save_kill_switch(tx.conn, stored)

        await self._writer.run(op)

    def _persist_in_background(self, state: KillSwitchState) -> None:
        task = asyncio.get_running_loop().create_task(self._persist(state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
