"""What a caller may see and do with orders and positions: per-strategy isolation. Pure.

Operators and open access see every strategy; a strategy token only its own. Another
strategy's order is invisible (the OMS answers as for an order that does not exist); a filter
naming another strategy, or an order placed for one, is refused with NotPermitted.
"""

from __future__ import annotations

from execution_server.auth.principal import Principal


class NotPermitted(Exception):
    """The caller may not do this (PERMISSION_DENIED); `field` is the request field at fault."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_may_act_for(principal: Principal, strategy_id: str) -> None:
    """PlaceOrder: the order's strategy must be one of the caller's."""
    if not principal.may_act_for(strategy_id):
        raise NotPermitted("strategy_id", "this token may not act for that strategy")


def strategy_scope(principal: Principal, requested: str) -> frozenset[str] | None:
    """The strategies a list, a stream or a position query may cover, beside the request's own
    `strategy_id` filter (empty: none): None for every strategy, else the caller's set. A
    filter naming a strategy that is not the caller's is refused, not answered empty, so that
    a mistyped strategy id is told apart from a quiet one."""
    if requested:
        check_may_act_for(principal, requested)
    return principal.strategies


def may_see(principal: Principal, strategy_id: str) -> bool:
    """Whether an order or position of `strategy_id` exists for this caller at all."""
    return principal.may_act_for(strategy_id)
