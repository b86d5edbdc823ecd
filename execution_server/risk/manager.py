"""The RiskManager runs the pre-trade checks in their fixed order and stops at the first
violation.

It is the one stateful object of the risk layer that the shell talks to: it owns the limits
in force (swapped whole by `replace_limits` on SIGHUP), the kill switch (persisted by the
shell, handed back at start-up with `set_kill_switch`), the strategies in reduce-only, and
the memory of the rate limiter and duplicate guard. It reads the PortfolioView the OMS
keeps current and the broker's in-memory reference prices; it never does I/O besides
logging each rejection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from execution_server.domain.money import ZERO
from execution_server.domain.orders import Order, OrderSpec
from execution_server.risk.check_context import Check, CheckContext
from execution_server.risk.daily_loss import DailyLossCheck
from execution_server.risk.denials import RiskDenial
from execution_server.risk.flow_guards import DuplicateCheck, OrderRateCheck
from execution_server.risk.kill_switch import KillSwitchCheck, KillSwitchState, TradingState
from execution_server.risk.limits import RiskLimits
from execution_server.risk.order_limits import OpenOrdersCheck, OrderSizeCheck, PriceCollarCheck, SymbolCheck
from execution_server.risk.portfolio_checks import ExposureCheck, PositionCheck
from execution_server.risk.portfolio import PortfolioView

logger = logging.getLogger(__name__)

ReferencePrice = Callable[[str], Decimal | None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RiskManager:
    """Pre-trade risk: `check` an order, or `admit` it (check, and on acceptance reserve it
    in the portfolio in the same step, so that no other order can slip in between).

    `clock` is monotonic seconds, for the rate limiter and the duplicate window;
    `wall_clock` stamps kill-switch changes. `on_kill_switch` is called when the manager
    engages the kill switch itself (the account's daily loss), so the shell can persist it.
    """

    def __init__(
        self,
        limits: RiskLimits,
        portfolio: PortfolioView,
        reference_price: ReferencePrice,
        clock: Callable[[], float] = time.monotonic,
        *,
        kill_switch: KillSwitchState | None = None,
        wall_clock: Callable[[], datetime] = _utc_now,
        on_kill_switch: Callable[[KillSwitchState], None] | None = None,
    ) -> None:
        self._portfolio = portfolio
        self._reference_price = reference_price
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_kill_switch = on_kill_switch
        self._kill_switch = KillSwitchCheck(kill_switch)
        self._rate = OrderRateCheck()
        self._duplicate = DuplicateCheck()
        self._daily_loss = DailyLossCheck(self._engage_for_loss)
        self._checks: tuple[Check, ...] = (
            self._kill_switch,
            SymbolCheck(),
            OrderSizeCheck(),
            PriceCollarCheck(),
            OpenOrdersCheck(),
            self._rate,
            PositionCheck(),
            self._daily_loss,
            self._duplicate,
            ExposureCheck(),
        )
        self._limits = limits
        self.replace_limits(limits)

    # --- the order path ---

    def check(self, spec: OrderSpec) -> RiskDenial | None:
        """None when the order may go to the broker, else the first violation. An accepted
        order counts towards the rate limit and the duplicate window; a rejected one does not.
        A failure inside the checks rejects the order (RISK_ERROR): risk fails closed."""
        try:
            ctx = self._context(spec)
            for check in self._checks:
                denial = check.check(ctx)
                if denial is not None:
                    self._log(spec, denial)
                    return denial
            self._rate.record(ctx)
            self._duplicate.record(ctx)
        except Exception:
            logger.exception("risk checks failed for order %s; rejecting it", spec.client_order_id)
            return RiskDenial("risk", "RISK_ERROR", "", "", "RISK_ERROR: the risk checks failed; the order was not sent")
        return None

    def forget(self, spec: OrderSpec) -> None:
        """Undo what `check` recorded for an accepted order whose write was rolled back."""
        self._rate.forget(spec.strategy_id)
        self._duplicate.forget(spec)

    def admit(self, order: Order) -> RiskDenial | None:
        """`check` the order and, when it passes, reserve it in the portfolio at once."""
        denial = self.check(order.spec)
        if denial is None:
            self._portfolio.order_opened(order)
        return denial

    def _context(self, spec: OrderSpec) -> CheckContext:
        portfolio, symbol = self._portfolio, spec.symbol
        reference = self._reference_price(symbol)
        if reference is not None and reference <= 0:
            reference = None  # no price is better than a nonsense one
        mark = portfolio.mark(symbol)
        if reference is not None and reference != mark:
            portfolio.on_price(symbol, reference)
            mark = reference
        if mark is not None:
            price: Decimal | None = mark
        else:
            price = spec.limit_price if spec.limit_price is not None else spec.stop_price
        return CheckContext(
            spec,
            self._limits.for_strategy(spec.strategy_id),
            self._limits.account,
            portfolio.totals(spec.strategy_id),
            portfolio.account,
            reference,
            mark if mark is not None else ZERO,
            price,
            self._clock(),
        )

    @staticmethod
    def _log(spec: OrderSpec, denial: RiskDenial) -> None:
        logger.warning(
            "risk rejected order %s (strategy %s, %s %s %s): check=%s code=%s limit_key=%s limit=%s value=%s: %s",
            spec.client_order_id, spec.strategy_id, spec.side.value, spec.quantity, spec.symbol,
            denial.check, denial.code, denial.limit_key, denial.limit, denial.value, denial.reason,
        )

    # --- kill switch and trading states ---

    @property
    def kill_switch(self) -> KillSwitchState:
        return self._kill_switch.state

    def set_kill_switch(self, state: KillSwitchState) -> None:
        """Engage or release, as an operator did (or as persisted state is restored)."""
        self._kill_switch.state = state
        if state.engaged:
            logger.warning("kill switch engaged%s: %s", " (reduce-only)" if state.reduce_only else "", state.reason)
        else:
            logger.warning("kill switch released")

    def _engage_for_loss(self, reason: str) -> None:
        state = KillSwitchState.engage(reason, self._wall_clock())
        self.set_kill_switch(state)
        if self._on_kill_switch is not None:
            self._on_kill_switch(state)

    def trading_state(self, strategy_id: str | None = None) -> TradingState:
        """HALTED or REDUCING by the kill switch; else REDUCING for a strategy in reduce-only."""
        state = self._kill_switch.state.trading_state
        if state is TradingState.ACTIVE and strategy_id is not None and strategy_id in self._daily_loss.reducing:
            return TradingState.REDUCING
        return state

    def reducing_strategies(self) -> dict[str, str]:
        """Strategies in reduce-only because of their daily loss, with the reason."""
        return dict(self._daily_loss.reducing)

    def refresh_marks(self) -> None:
        """Revalue every symbol held at its reference price. The order path refreshes only
        the order's own symbol; call this on a timer (off the order path: it visits every
        symbol) so that exposure and P&L of the other symbols do not go stale."""
        portfolio = self._portfolio
        for symbol in list(portfolio.symbols()):
            reference = self._reference_price(symbol)
            if reference is not None and reference != portfolio.mark(symbol):
                portfolio.on_price(symbol, reference)

    def evaluate_daily_loss(self) -> None:
        """Refresh the marks and trip daily-loss limits without waiting for an order: call on
        a timer or after fills, off the order path (it visits every symbol and strategy)."""
        self.refresh_marks()
        self._daily_loss.evaluate_account(self._limits.account.daily_loss.max_loss, self._portfolio.account.day_pnl)
        for strategy_id in list(self._portfolio.strategy_ids()):
            if strategy_id not in self._daily_loss.reducing:
                limit = self._limits.for_strategy(strategy_id).daily_loss.max_loss
                self._daily_loss.evaluate_strategy(strategy_id, limit, self._portfolio.totals(strategy_id).day_pnl)

    def release_reducing(self, strategy_id: str) -> None:
        """Let a strategy in reduce-only trade normally again until the day rolls."""
        self._daily_loss.release(strategy_id)

    def start_new_day(self) -> None:
        """Roll the day: P&L of the day restarts, reduce-only and the account's trip clear.
        The kill switch stays as it is: only an operator releases it."""
        self._portfolio.start_new_day()
        self._daily_loss.start_new_day()

    # --- limits ---

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    def replace_limits(self, limits: RiskLimits) -> None:
        """Put new limits in force at once, for the next order (SIGHUP)."""
        self._limits = limits
        windows = [s.duplicate.window_seconds for s in (limits.defaults, *limits.strategies.values())]
        self._duplicate.horizon = max((w for w in windows if w is not None), default=0.0)

    def explain(self, strategy_id: str = "") -> list[str]:
        """One line per check, as it stands for the strategy (or the global limits), after
        the trading state: what an operator reads to know why orders pass or not."""
        limits = self._limits.for_strategy(strategy_id) if strategy_id else self._limits.defaults
        state = self.trading_state(strategy_id or None)
        lines = [f"trading state: {state.value}"]
        if strategy_id in self._daily_loss.reducing:
            lines.append(f"reduce-only: {self._daily_loss.reducing[strategy_id]}")
        lines.extend(check.explain(limits, self._limits.account) for check in self._checks)
        return lines
