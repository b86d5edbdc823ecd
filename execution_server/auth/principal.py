"""The caller of the RPC being served, as authentication established it.

The server's authentication layer sets it for the duration of each call (a ContextVar, so
that it follows the call's task and nothing else); handlers and the audit trail read it with
`caller()`. With no `[auth]` section (open access, loopback only) every call is OPEN_ACCESS.
"""

from __future__ import annotations

import contextvars
import enum
from dataclasses import dataclass


class Role(enum.Enum):
    STRATEGY = "strategy"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str  # the token's configured name: logs and the audit trail show it, never the token
    role: Role
    # The strategies a strategy token acts for; None: every strategy (operators, open access).
    strategies: frozenset[str] | None

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    def may_act_for(self, strategy_id: str) -> bool:
        return self.strategies is None or strategy_id in self.strategies


# Open access: no [auth] section. Allowed only on loopback and never LIVE (config refuses it).
OPEN_ACCESS = Principal(name="anonymous", role=Role.OPERATOR, strategies=None)

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("execution_caller", default=OPEN_ACCESS)


def caller() -> Principal:
    """The principal of the call being served (OPEN_ACCESS outside any call, or with auth off)."""
    return _current.get()


def acting_as(principal: Principal) -> contextvars.Token[Principal]:
    """Make `principal` the caller for the rest of this context; reset with `_current.reset`."""
    return _current.set(principal)


def stop_acting(token: contextvars.Token[Principal]) -> None:
    _current.reset(token)
