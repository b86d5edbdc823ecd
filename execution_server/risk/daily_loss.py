"""The daily loss limit: past it a strategy goes reduce-only, and the account engages the kill
switch, until the trading day rolls. The check keeps which strategies are reduce-only and which
an operator released; the shell persists the releases (a restart must not trip them again).
No I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from execution_server.risk.check_context import CheckContext
from execution_server.risk.denials import RiskDenial, as_text, deny
from execution_server.risk.limits import AccountLimits, StrategyLimits


class DailyLossCheck:
    """P&L of the day below the loss limit puts a strategy in reduce-only until the day
    rolls; for the account it engages the kill switch. Each trips at most once a day, so
    that an operator's release is not overturned by the next order."""

    name = "daily_loss"

    def __init__(self, engage_kill_switch: Callable[[str], None]) -> None:
        self._engage_kill_switch = engage_kill_switch
        self.reducing: dict[str, str] = {}  # strategy -> why
        self._released: set[str] = set()
        self._account_tripped = False

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        account_limit = ctx.account_limits.daily_loss.max_loss
        reason = self.evaluate_account(account_limit, ctx.account.day_pnl)
        if reason is not None:
            return deny(self.name, "DAILY_LOSS", "account_max_daily_loss", account_limit, ctx.account.day_pnl,
                        f"{reason}; kill switch engaged")
        strategy_id = ctx.spec.strategy_id
        reason = self.reducing.get(strategy_id) or self.evaluate_strategy(
            strategy_id, ctx.limits.daily_loss.max_loss, ctx.totals.day_pnl
        )
        if reason is None or ctx.only_shrinks():
            return None
        return deny(self.name, "DAILY_LOSS", "max_daily_loss", ctx.limits.daily_loss.max_loss or "",
                    ctx.totals.day_pnl, f"{reason}: strategy {strategy_id} is reduce-only, and this order "
                    "would not only shrink a position")

    def evaluate_strategy(self, strategy_id: str, max_loss: Decimal | None, pnl: Decimal) -> str | None:
        """Trip reduce-only for the strategy when its loss is past the limit; the reason, or None."""
        if max_loss is None or pnl >= -max_loss or strategy_id in self._released:
            return None
        reason = f"P&L of the day {as_text(pnl)} is below the loss limit of {as_text(-max_loss)}"
        self.reducing[strategy_id] = reason
        return reason

    def evaluate_account(self, max_loss: Decimal | None, pnl: Decimal) -> str | None:
        """Engage the kill switch when the account's loss is past the limit (once a day)."""
        if max_loss is None or pnl >= -max_loss or self._account_tripped:
            return None
        self._account_tripped = True
        reason = f"account P&L of the day {as_text(pnl)} is below the loss limit of {as_text(-max_loss)}"
        self._engage_kill_switch(f"DAILY_LOSS: {reason}")
        return reason

    def release(self, strategy_id: str) -> None:
        """An operator lets the strategy trade normally again, for the rest of the day."""
        self.reducing.pop(strategy_id, None)
        self._released.add(strategy_id)

    def start_new_day(self) -> None:
        self.reducing.clear()
        self._released.clear()
        self._account_tripped = False

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        own, total = limits.daily_loss.max_loss, account.daily_loss.max_loss
        strategy = "no strategy loss limit" if own is None else f"strategy reduce-only below -{as_text(own)}"
        whole = "no account loss limit" if total is None else f"account kill switch below -{as_text(total)}"
        return f"daily loss: {strategy}; {whole}"
