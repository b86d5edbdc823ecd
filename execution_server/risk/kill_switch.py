"""The kill switch as a value, the check that applies it, and the trading states operators
speak of.

The switch is a plain immutable value so that the shell can persist it as it is (a restart
must not release it) and hand it back with `RiskManager.set_kill_switch`. Nothing here
does I/O: persistence and cancelling open orders on engagement belong to the OMS.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from execution_server.risk.check_context import CheckContext
from execution_server.risk.denials import RiskDenial, deny
from execution_server.risk.limits import AccountLimits, StrategyLimits


class TradingState(enum.Enum):
    """What an operator sees: whether new orders flow, only shrink positions, or stop."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """Engaged: every new order is rejected, except, with `reduce_only`, orders that only
    shrink a position. `changed_at` is wall-clock time, for operators; None before the first
    change ever made."""

    engaged: bool = False
    reason: str = ""
    reduce_only: bool = False
    changed_at: datetime | None = None

    @staticmethod
    def engage(reason: str, at: datetime, reduce_only: bool = False) -> KillSwitchState:
        return KillSwitchState(engaged=True, reason=reason, reduce_only=reduce_only, changed_at=at)

    @staticmethod
    def release(at: datetime) -> KillSwitchState:
        return KillSwitchState(engaged=False, reason="", reduce_only=False, changed_at=at)

    @property
    def trading_state(self) -> TradingState:
        if not self.engaged:
            return TradingState.ACTIVE
        return TradingState.REDUCING if self.reduce_only else TradingState.HALTED


class KillSwitchCheck:
    """Engaged: every new order is rejected; in reduce-only mode, those that only shrink a
    position get through. The state is set by the manager (operators, daily loss)."""

    name = "kill_switch"

    def __init__(self, state: KillSwitchState | None = None) -> None:
        self.state = state or KillSwitchState()

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        state = self.state
        if not state.engaged:
            return None
        if state.reduce_only:
            if ctx.only_shrinks():
                return None
            return deny(self.name, "KILL_SWITCH", "kill_switch.reduce_only", "reduce-only", "",
                        f"{state.reason} (reduce-only: only orders that shrink a position are admitted)")
        return deny(self.name, "KILL_SWITCH", "kill_switch.engaged", "engaged", "", state.reason)

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        state = self.state
        if not state.engaged:
            return "kill switch: released; orders flow"
        mode = "only position-shrinking orders are admitted" if state.reduce_only else "every new order is rejected"
        return f"kill switch: engaged ({state.reason}); {mode}"
