"""Guards on the flow of orders rather than on any one of them: the rate per strategy (a
token bucket) and the duplicate guard (the same order again within a window, a likely runaway
loop). Each remembers only accepted orders (`record`, called by the manager once every check
has passed) and gives back what an admission that did not stick took (`forget`). No I/O.
"""

from __future__ import annotations

from collections import deque

from execution_server.domain.orders import OrderSpec
from execution_server.risk.check_context import CheckContext
from execution_server.risk.denials import RiskDenial, deny, rate_text
from execution_server.risk.limits import AccountLimits, StrategyLimits


class OrderRateCheck:
    """Orders per second per strategy, as a token bucket: `order_burst` orders at once, then
    `max_orders_per_second` on average. Only accepted orders take a token (`record`)."""

    name = "order_limits"

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # strategy -> (tokens, at)

    def _tokens(self, ctx: CheckContext, rate: float) -> float:
        burst = _burst(ctx.limits.order.order_burst, rate)
        tokens, at = self._buckets.get(ctx.spec.strategy_id, (burst, ctx.now))
        return min(burst, tokens + (ctx.now - at) * rate)

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        rate = ctx.limits.order.max_orders_per_second
        if rate is None or self._tokens(ctx, rate) >= 1.0:
            return None
        return deny(self.name, "ORDER_RATE", "max_orders_per_second", rate_text(rate), "",
                    f"strategy {ctx.spec.strategy_id} sends more than {rate_text(rate)} orders per second")

    def record(self, ctx: CheckContext) -> None:
        rate = ctx.limits.order.max_orders_per_second
        if rate is not None:
            self._buckets[ctx.spec.strategy_id] = (self._tokens(ctx, rate) - 1.0, ctx.now)

    def forget(self, strategy_id: str) -> None:
        """Give back the token of an admission that did not stick (its write rolled back)."""
        if strategy_id in self._buckets:
            tokens, at = self._buckets[strategy_id]
            self._buckets[strategy_id] = (tokens + 1.0, at)

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        rate = limits.order.max_orders_per_second
        if rate is None:
            return "order rate: no limit"
        return f"order rate: {rate_text(rate)} per second, bursts of {rate_text(_burst(limits.order.order_burst, rate))}"


def _burst(order_burst: int | None, rate: float) -> float:
    return float(order_burst) if order_burst is not None else max(1.0, rate)


class DuplicateCheck:
    """The same symbol, side, quantity and price from the same strategy within the window
    is a likely runaway loop. Off unless duplicate_window_seconds is set. Only accepted
    orders are remembered (`record`), and forgotten once past the longest window."""

    name = "duplicate"

    def __init__(self) -> None:
        self._sent: dict[tuple[object, ...], float] = {}
        self._queue: deque[tuple[float, tuple[object, ...]]] = deque()
        self.horizon = 0.0  # the longest window in force; the manager sets it

    @staticmethod
    def _key(spec: OrderSpec) -> tuple[object, ...]:
        return (spec.strategy_id, spec.symbol, spec.side, spec.quantity, spec.limit_price, spec.stop_price)

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        window = ctx.limits.duplicate.window_seconds
        if window is None:
            return None
        sent = self._sent.get(self._key(ctx.spec))
        if sent is None or ctx.now - sent >= window:
            return None
        ago = rate_text(round(ctx.now - sent, 3))
        return deny(self.name, "DUPLICATE_ORDER", "duplicate_window_seconds", rate_text(window), ago,
                    f"same symbol, side, quantity and price as an order strategy {ctx.spec.strategy_id} "
                    f"sent {ago} s ago (window {rate_text(window)} s)")

    def record(self, ctx: CheckContext) -> None:
        if ctx.limits.duplicate.window_seconds is None:
            return
        self._expire(ctx.now)
        key = self._key(ctx.spec)
        self._sent[key] = ctx.now
        self._queue.append((ctx.now, key))

    def forget(self, spec: OrderSpec) -> None:
        """Forget an admission that did not stick (its write rolled back), so a retry is not
        taken for a duplicate of itself."""
        self._sent.pop(self._key(spec), None)

    def _expire(self, now: float) -> None:
        queue = self._queue
        while queue and now - queue[0][0] >= self.horizon:
            sent, key = queue.popleft()
            if self._sent.get(key) == sent:
                del self._sent[key]

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        window = limits.duplicate.window_seconds
        return "duplicate guard: off" if window is None else f"duplicate guard: {rate_text(window)} s window"
