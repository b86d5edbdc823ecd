"""The risk layer's shell: limits from the config file (re-read on SIGHUP), the kill switch
persisted so that a restart does not release it, and engagement that can cancel open orders.

The pure parts (checks, manager, portfolio) do no I/O; this module is where they meet the
database and the OMS. It also keeps the trading day (UTC): the day's opening values and costs
are saved when they change, so that a restart resumes the day's P&L and realised P&L, and a
daily loss limit with them; an operator's release from reduce-only is saved before it applies,
so that a restart does not trip the strategy again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

from execution_server.audit import trail as audit_trail
from execution_server.audit.entry import AuditEntry, by_caller
from execution_server.config import Settings
from execution_server.risk.kill_switch import KillSwitchState
from execution_server.risk.limits import (
    RiskLimits,
    RiskLimitsError,
    load_risk_limits_file,
    refuse_if_live_without_defaults,
    refuse_unsafe_limits,
)
from execution_server.risk.manager import RiskManager
from execution_server.risk.portfolio import PortfolioView
from execution_server.store import repository
from execution_server.store.repository import StoredKillSwitch
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)


class CancelFailed(Protocol):
    order_id: str
    reason: str


class OpenOrderCanceller(Protocol):
    async def cancel_all_open(self, reason: str) -> tuple[list[str], Sequence[CancelFailed]]: ...


# Who reloads the limits: whoever could send the process a signal; no token names them.
SIGHUP_ACTOR = "signal:SIGHUP"

# The account's row of a day's opening values. Saved with every day's values, even when every
# strategy started the day flat: its presence says the day has begun, so that a restart resumes
# the day (today's fills still count) rather than starting it again. No strategy id is empty.
ACCOUNT_ROW = ""


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
        self._day = _now().date()
        self._saved_openings: tuple[date, dict[str, Decimal], dict[str, Decimal]] | None = None
        kill_switch = None
        if stored_kill_switch is not None:
            kill_switch = KillSwitchState(
                stored_kill_switch.engaged,
                stored_kill_switch.reason,
                stored_kill_switch.reduce_only,
                stored_kill_switch.changed_at,
            )
        limits = refuse_unsafe_limits(settings.risk, settings.trading_mode)
        _warn_if_unlimited(limits, "at start-up")
        self.manager = RiskManager(
            limits,
            self.portfolio,
            reference_price,
            kill_switch=kill_switch,
            on_kill_switch=self._persist_in_background,
        )

    def bind_orders(self, orders: OpenOrderCanceller) -> None:
        self._orders = orders

    async def resume_day(
        self,
        today: date,
        saved: Mapping[str, Decimal],
        day_cash: Mapping[str, Decimal],
        saved_costs: Mapping[str, Decimal] | None = None,
        released: Iterable[str] = (),
    ) -> None:
        """At start-up, with the positions loaded and before any fill is applied: the day's P&L
        and realised P&L go on from the opening values and costs saved for `today` and the cash
        of today's fills; on the day's first start (nothing saved for it), the day starts here
        and its values are saved. The strategies `released` from reduce-only today stay so."""
        self._day = today
        self.manager.refresh_marks()
        if ACCOUNT_ROW in saved:
            openings = {strategy_id: value for strategy_id, value in saved.items() if strategy_id != ACCOUNT_ROW}
            costs = None  # a day begun before costs were saved: its realised P&L counts from here
            if saved_costs is not None and ACCOUNT_ROW in saved_costs:
                costs = {strategy_id: cost for strategy_id, cost in saved_costs.items() if strategy_id != ACCOUNT_ROW}
            self.portfolio.resume_day(openings, day_cash, costs)
            # Without saved costs, the watch saves the ones counted from here.
            self._saved_openings = self._openings_now() if costs is not None else None
        else:
            await self._save_openings()
        for strategy_id in released:
            self.manager.release_reducing(strategy_id)

    async def release_reducing(self, strategy_id: str) -> None:
        """An operator lets a strategy in reduce-only trade normally again until the day rolls.
        Saved first: a restart right after must not trip it again."""
        day, at = self._day, _now()

        async def save_release(tx: Transaction) -> None:
            await repository.save_reduce_only_release(tx.conn, day, strategy_id, at)

        await self._writer.run(save_release)
        self.manager.release_reducing(strategy_id)

    def start_watch(self, interval_seconds: float = 5.0) -> None:
        """Off the order path: refresh every mark and trip daily-loss limits, roll the trading
        day at UTC midnight (the kill switch is never released by a day roll), and save the
        day's opening values when they have changed (a new day, a repair)."""

        async def watch() -> None:
            while True:
                await asyncio.sleep(interval_seconds)
                try:
                    if _now().date() != self._day:
                        self._day = _now().date()
                        self.manager.refresh_marks()  # the new day opens at the marks of now
                        self.manager.start_new_day()
                        log.info("risk: new trading day %s", self._day)
                    if self._saved_openings != self._openings_now():
                        await self._save_openings()
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
    ) -> tuple[KillSwitchState, list[str], Sequence[CancelFailed]]:
        """Engage or release; with cancel_open_orders, also the orders whose cancel was
        requested and those whose cancel failed."""
        asked = {"engaged": engaged, "reason": reason, "reduce_only": reduce_only, "cancel_open_orders": cancel_open_orders}
        entry = by_caller("SetKillSwitch", asked)  # the caller is known here, not in the writer's task
        state = KillSwitchState.engage(reason, _now(), reduce_only) if engaged else KillSwitchState.release(_now())
        # Persisted first, with its audit entry: a crash right after still finds it engaged, and who did it.
        action_id = await self._persist(state, entry)
        self.manager.set_kill_switch(state)
        cancelled: list[str] = []
        failed: Sequence[CancelFailed] = ()
        if engaged and cancel_open_orders and self._orders is not None:
            cancelled, failed = await self._orders.cancel_all_open(f"kill switch: {reason}")
            await self._record_cancels(entry.actor, action_id, cancelled, failed)
        return state, cancelled, failed

    async def _record_cancels(
        self, actor: str, action_id: int | None, cancelled: list[str], failed: Sequence[CancelFailed]
    ) -> None:
        """What the kill switch's cancel_open_orders did, linked to the SetKillSwitch entry."""
        entry = AuditEntry(actor, "CancelOpenOrders", {
            "set_kill_switch_action": action_id,
            "cancelled_order_ids": list(cancelled),
            "cancel_failures": [{"order_id": f.order_id, "reason": f.reason} for f in failed],
        })
        await self._record(entry)

    async def _record(self, entry: AuditEntry) -> None:
        """An audit entry of its own, for an action whose change is not in the database."""

        async def record_operator_action(tx: Transaction) -> None:
            await audit_trail.write(tx, entry)

        await self._writer.run(record_operator_action)

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
            refuse_if_live_without_defaults(limits, self._settings.trading_mode)
        except RiskLimitsError as error:  # missing, unreadable, not TOML, a bad limit, or LIVE with none
            log.error("SIGHUP: risk limits in %s not reloaded, the old ones stay in force: %s", path, error)
            self._record_in_background(AuditEntry(SIGHUP_ACTOR, "ReloadRiskLimits", {
                "config_path": str(path), "reloaded": False, "refused": str(error),
            }))
            return
        _warn_if_unlimited(limits, "after SIGHUP")
        self.manager.replace_limits(limits)
        log.warning("SIGHUP: risk limits reloaded from %s", path)
        in_force = {key: value for key, value in limits.effective_limits().items() if value}
        self._record_in_background(AuditEntry(SIGHUP_ACTOR, "ReloadRiskLimits", {
            "config_path": str(path), "reloaded": True, "safe_defaults_off": limits.safe_defaults_off,
            "global_limits": in_force, "strategies": sorted(limits.strategies),
        }))

    def _openings_now(self) -> tuple[date, dict[str, Decimal], dict[str, Decimal]]:
        return self._day, self.portfolio.opening_values(), self.portfolio.opening_costs()

    async def _save_openings(self) -> None:
        now = self._openings_now()
        day, openings, costs = now
        account = self.portfolio.account
        values = {**openings, ACCOUNT_ROW: account.opening_value}
        costs_saved = {**costs, ACCOUNT_ROW: account.opening_cost}

        async def save_openings(tx: Transaction) -> None:
            await repository.save_day_openings(tx.conn, day, values, costs_saved)

        await self._writer.run(save_openings)
        self._saved_openings = now

    async def _persist(self, state: KillSwitchState, entry: AuditEntry | None = None) -> int | None:
        """Save the kill switch and, in the same transaction, the operator's action behind it
        (its id); an engagement from inside the service has none."""
        stored = StoredKillSwitch(state.engaged, state.reason, state.reduce_only, state.changed_at or _now())

        async def save_kill_switch(tx: Transaction) -> int | None:
            await repository.save_kill_switch(tx.conn, stored)
            return None if entry is None else await audit_trail.write(tx, entry)

        return await self._writer.run(save_kill_switch)

    def _record_in_background(self, entry: AuditEntry) -> None:
        """From the signal handler, which cannot wait: the audit entry is written by a task."""

        async def run() -> None:
            try:
                await self._record(entry)
            except Exception as error:
                log.error("the audit entry of %s could not be written: %s", entry.action, error)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _persist_in_background(self, state: KillSwitchState) -> None:
        task = asyncio.get_running_loop().create_task(self._persist(state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _warn_if_unlimited(limits: RiskLimits, when: str) -> None:
    if limits.safe_defaults_off:
        log.warning(
            'risk.limits = "none" %s: the safe default risk limits are off; only the [risk] keys '
            "written in the file apply (none written: orders of any size and rate reach the broker)", when,
        )
