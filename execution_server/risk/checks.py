"""The pre-trade checks: one small class each, run in a fixed order by the RiskManager.

Each check returns a RiskDenial or None; a denial becomes a REJECTED order, never an
exception. Its reason starts with a code a machine can match on (`MAX_ORDER_QUANTITY: ...`)
and goes on in words a person understands. Checks read only the CheckContext (the order,
the limits in force for its strategy, the portfolio's live totals, the prices): no I/O.

Limits bind in the direction an order pushes. An order that leaves a worst case no larger
than it was is never refused by a position or exposure limit, so a strategy can always
trade its way back inside limits that were lowered under it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from execution_server.domain.money import format_decimal
from execution_server.domain.orders import OrderSpec, OrderType, Side
from execution_server.risk.kill_switch import KillSwitchState
from execution_server.risk.limits import AccountLimits, ExposureLimits, PositionLimits, StrategyLimits
from execution_server.risk.books import Book, Totals

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class RiskDenial:
    """Why an order may not go to the broker. `reason` starts with `code`; `limit` and
    `value` are the limit and the value that broke it, as text, for logs and metrics."""

    check: str
    code: str
    limit: str
    value: str
    reason: str
    limit_key: str = ""

    def __str__(self) -> str:
        return self.reason


def deny(check: str, code: str, key: str, limit: object, value: object, text: str) -> RiskDenial:
    return RiskDenial(check, code, _text(limit), _text(value), f"{code}: {text}", key)


def _text(value: object) -> str:
    return format_decimal(value) if isinstance(value, Decimal) else str(value)


class CheckContext:
    """Everything the checks need about one order, gathered once by the manager. A plain
    slotted class, not a frozen dataclass: one is built per order, on the hot path.

    `reference` is the broker's reference price right now (None when unknown). `mark` is
    the price the portfolio's books in this symbol are valued at (zero when it has none yet),
    and `price` the one to value this order at: the mark, else the order's own price, else
    None (a market order for a symbol never priced).
    """

    __slots__ = ("spec", "limits", "account_limits", "totals", "account", "book", "account_book",
                 "reference", "mark", "price", "now")

    def __init__(self, spec: OrderSpec, limits: StrategyLimits, account_limits: AccountLimits,
                 totals: Totals, account: Totals, reference: Decimal | None, mark: Decimal,
                 price: Decimal | None, now: float) -> None:
        self.spec = spec
        self.limits = limits
        self.account_limits = account_limits
        self.totals = totals
        self.account = account
        self.book = totals.book(spec.symbol)
        self.account_book = account.book(spec.symbol)
        self.reference = reference
        self.mark = mark
        self.price = price
        self.now = now

    @property
    def order_price(self) -> Decimal | None:
        """The price that makes the order's notional: limit, else stop, else the mark."""
        spec = self.spec
        if spec.limit_price is not None:
            return spec.limit_price
        if spec.order_type is OrderType.STOP and spec.stop_price is not None:
            return spec.stop_price
        return self.price

    def only_shrinks(self) -> bool:
        """Opposite to the strategy's position, and with its open same-side orders no
        larger than it: whatever fills, the position only gets smaller."""
        position = self.book.quantity
        if self.spec.side is Side.BUY:
            return position < 0 and self.spec.quantity + self.book.open_buy <= -position
        return position > 0 and self.spec.quantity + self.book.open_sell <= position


class Check(Protocol):
    """One check: `name` is its group ("order_limits", "position", ...), as in denials and
    in the keys of GetRiskLimits."""

    name: str

    def check(self, ctx: CheckContext) -> RiskDenial | None: ...

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str: ...


def no_reference_price(check: str, ctx: CheckContext, key: str) -> RiskDenial:
    symbol = ctx.spec.symbol
    return deny(check, "NO_REFERENCE_PRICE", key, "", "",
                f"no reference price for {symbol}, so the notional of this "
                f"{ctx.spec.order_type.value.lower()} order cannot be checked against {key}")


def _scope(ctx: CheckContext, account: bool) -> tuple[str, str]:
    """How a denial names the scope of a limit, in words and in its key."""
    return ("account", "account_") if account else (f"strategy {ctx.spec.strategy_id}", "")


def _bound(name: str, value: object, relation: str = "≤") -> str:
    return f"{name} unlimited" if value is None else f"{name} {relation} {_text(value)}"


# --- 1. kill switch ---


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


# --- 2. order limits ---


class SymbolCheck:
    """Allowed and blocked symbols: a blocked symbol is refused even when also allowed."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        order = ctx.limits.order
        if order.allowed_symbols is None and not order.blocked_symbols:
            return None
        symbol = ctx.spec.symbol.upper()
        if symbol in order.blocked_symbols:
            return deny(self.name, "SYMBOL_BLOCKED", "blocked_symbols", ",".join(sorted(order.blocked_symbols)),
                        symbol, f"{symbol} is on the blocked list")
        if order.allowed_symbols is not None and symbol not in order.allowed_symbols:
            return deny(self.name, "SYMBOL_NOT_ALLOWED", "allowed_symbols", ",".join(sorted(order.allowed_symbols)),
                        symbol, f"{symbol} is not among the allowed symbols")
        return None

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        order = limits.order
        allowed = "any" if order.allowed_symbols is None else ", ".join(sorted(order.allowed_symbols))
        blocked = ", ".join(sorted(order.blocked_symbols)) or "none"
        return f"symbols: allowed {allowed}; blocked {blocked}"


class OrderSizeCheck:
    """Max quantity and max notional of one order (notional at the limit, stop or reference price)."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        order = ctx.limits.order
        quantity = ctx.spec.quantity
        if order.max_quantity is not None and quantity > order.max_quantity:
            return deny(self.name, "MAX_ORDER_QUANTITY", "max_order_quantity", order.max_quantity, quantity,
                        f"order quantity {_text(quantity)} exceeds limit {_text(order.max_quantity)}")
        if order.max_notional is None:
            return None
        price = ctx.order_price
        if price is None:
            return no_reference_price(self.name, ctx, "max_order_notional")
        notional = quantity * price
        if notional > order.max_notional:
            return deny(self.name, "MAX_ORDER_NOTIONAL", "max_order_notional", order.max_notional, notional,
                        f"order notional {_text(notional)} exceeds limit {_text(order.max_notional)}")
        return None

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        order = limits.order
        return f"order size: {_bound('quantity', order.max_quantity)}, {_bound('notional', order.max_notional)}"


class PriceCollarCheck:
    """A limit price further than the collar from the reference price is a likely fat finger.
    Without a reference price there is nothing to compare with, and the order passes."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        collar = ctx.limits.order.price_collar_pct
        price, reference = ctx.spec.limit_price, ctx.reference
        if collar is None or price is None or reference is None:
            return None
        if abs(price - reference) * _HUNDRED <= collar * reference:
            return None
        away = (abs(price - reference) * _HUNDRED / reference).quantize(Decimal("0.01"))
        return deny(self.name, "PRICE_COLLAR", "price_collar_pct", collar, away,
                    f"limit price {_text(price)} is {_text(away)}% away from reference price "
                    f"{_text(reference)}, more than the {_text(collar)}% collar")

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        collar = limits.order.price_collar_pct
        if collar is None:
            return "price collar: none"
        return f"price collar: limit price within {_text(collar)}% of the reference price"


class OpenOrdersCheck:
    """At most max_open_orders open (and in-flight) orders per strategy."""

    name = "order_limits"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        limit = ctx.limits.order.max_open_orders
        if limit is None or ctx.totals.open_orders < limit:
            return None
        count = ctx.totals.open_orders
        return deny(self.name, "MAX_OPEN_ORDERS", "max_open_orders", limit, count,
                    f"strategy {ctx.spec.strategy_id} has {count} open orders, the limit is {limit}")

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        return f"open orders: {_bound('per strategy', limits.order.max_open_orders)}"


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
        return deny(self.name, "ORDER_RATE", "max_orders_per_second", _rate(rate), "",
                    f"strategy {ctx.spec.strategy_id} sends more than {_rate(rate)} orders per second")

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
        return f"order rate: {_rate(rate)} per second, bursts of {_rate(_burst(limits.order.order_burst, rate))}"


def _burst(order_burst: int | None, rate: float) -> float:
    return float(order_burst) if order_burst is not None else max(1.0, rate)


def _rate(rate: float) -> str:
    return format_decimal(Decimal(repr(rate)))


# --- 3. position sizing ---


class PositionCheck:
    """The position a fill of this order could make, with every open order of the same side
    filled too, stays within max quantity and notional per symbol: for the strategy, then
    for the account. A buy is bounded on the long side, a sell on the short side."""

    name = "position"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        return _position(ctx, ctx.limits.position, ctx.book, False) or _position(
            ctx, ctx.account_limits.position, ctx.account_book, True
        )

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        own, total = limits.position, account.position
        return (f"position per symbol: strategy {_bound('quantity', own.max_quantity)}, "
                f"{_bound('notional', own.max_notional)}; account {_bound('quantity', total.max_quantity)}, "
                f"{_bound('notional', total.max_notional)}")


def _position(ctx: CheckContext, limits: PositionLimits, book: Book, account: bool) -> RiskDenial | None:
    max_quantity, max_notional = limits.max_quantity, limits.max_notional
    if max_quantity is None and max_notional is None:
        return None
    spec = ctx.spec
    if spec.side is Side.BUY:
        size = book.quantity + book.open_buy + spec.quantity
        could_reach, orders = size, "open buy orders"
    else:
        size = spec.quantity + book.open_sell - book.quantity
        could_reach, orders = -size, "open sell orders"
    if size <= 0:
        return None
    symbol, (who, prefix) = spec.symbol, _scope(ctx, account)
    if max_quantity is not None and size > max_quantity:
        return deny("position", "MAX_POSITION_QUANTITY", f"{prefix}max_position_quantity", max_quantity,
                    could_reach, f"{who} position in {symbol} could reach {_text(could_reach)} with this "
                    f"order and its {orders}, beyond the limit of {_text(max_quantity)}")
    if max_notional is None:
        return None
    if ctx.price is None:
        return no_reference_price("position", ctx, f"{prefix}max_position_notional")
    notional = size * ctx.price
    if notional > max_notional:
        return deny("position", "MAX_POSITION_NOTIONAL", f"{prefix}max_position_notional", max_notional,
                    notional, f"{who} position in {symbol} could reach a notional of {_text(notional)} "
                    f"with this order and its {orders}, beyond the limit of {_text(max_notional)}")
    return None


# --- 4. daily loss ---


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
        reason = f"P&L of the day {_text(pnl)} is below the loss limit of {_text(-max_loss)}"
        self.reducing[strategy_id] = reason
        return reason

    def evaluate_account(self, max_loss: Decimal | None, pnl: Decimal) -> str | None:
        """Engage the kill switch when the account's loss is past the limit (once a day)."""
        if max_loss is None or pnl >= -max_loss or self._account_tripped:
            return None
        self._account_tripped = True
        reason = f"account P&L of the day {_text(pnl)} is below the loss limit of {_text(-max_loss)}"
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
        strategy = "no strategy loss limit" if own is None else f"strategy reduce-only below -{_text(own)}"
        whole = "no account loss limit" if total is None else f"account kill switch below -{_text(total)}"
        return f"daily loss: {strategy}; {whole}"


# --- 5. duplicate guard ---


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
        ago = _rate(round(ctx.now - sent, 3))
        return deny(self.name, "DUPLICATE_ORDER", "duplicate_window_seconds", _rate(window), ago,
                    f"same symbol, side, quantity and price as an order strategy {ctx.spec.strategy_id} "
                    f"sent {ago} s ago (window {_rate(window)} s)")

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
        return "duplicate guard: off" if window is None else f"duplicate guard: {_rate(window)} s window"


# --- 6. portfolio exposure ---


class ExposureCheck:
    """Gross and net exposure after this order (positions and open orders at the mark, worst
    case per symbol) within their limits: for the strategy, then for the account. Gross binds
    when the order makes it larger; net binds upwards for a buy, downwards for a sell."""

    name = "exposure"

    def check(self, ctx: CheckContext) -> RiskDenial | None:
        return _exposure(ctx, ctx.limits.exposure, ctx.totals, ctx.book, False) or _exposure(
            ctx, ctx.account_limits.exposure, ctx.account, ctx.account_book, True
        )

    def explain(self, limits: StrategyLimits, account: AccountLimits) -> str:
        own, total = limits.exposure, account.exposure
        return (f"exposure: strategy {_bound('gross', own.max_gross)}, {_bound('net', own.max_net, '±')}; "
                f"account {_bound('gross', total.max_gross)}, {_bound('net', total.max_net, '±')}")


def _exposure(ctx: CheckContext, limits: ExposureLimits, totals: Totals, book: Book,
              account: bool) -> RiskDenial | None:
    if limits.max_gross is None and limits.max_net is None:
        return None
    price = ctx.price
    if price is None:
        which = "gross" if limits.max_gross is not None else "net"
        return no_reference_price("exposure", ctx, f"{_scope(ctx, account)[1]}max_{which}_exposure")
    if limits.max_gross is not None:
        denial = _gross(ctx, price, limits.max_gross, totals, book, account)
        if denial is not None:
            return denial
    if limits.max_net is not None:
        return _net(ctx, price, limits.max_net, totals, book, account)
    return None


def _gross(ctx: CheckContext, price: Decimal, limit: Decimal, totals: Totals, book: Book,
           account: bool) -> RiskDenial | None:
    """Binds only when this order makes gross exposure larger than it already is."""
    quantity, long_side, short_side = ctx.spec.quantity, book.quantity + book.open_buy, book.quantity - book.open_sell
    if ctx.spec.side is Side.BUY:
        long_side += quantity
    else:
        short_side -= quantity
    gross = totals.gross - book.gross + max(abs(long_side), abs(short_side)) * price
    if gross <= limit or gross <= totals.gross:
        return None
    who, prefix = _scope(ctx, account)
    return deny("exposure", "MAX_GROSS_EXPOSURE", f"{prefix}max_gross_exposure", limit, gross,
                f"{who} gross exposure would reach {_text(gross)} with this order, beyond the limit of {_text(limit)}")


def _net(ctx: CheckContext, price: Decimal, limit: Decimal, totals: Totals, book: Book,
         account: bool) -> RiskDenial | None:
    """A buy can only raise net exposure and a sell only lower it: each binds on its own side.
    The symbol's worst case on that side is revalued from the mark to the order's price."""
    quantity, mark = ctx.spec.quantity, ctx.mark
    if ctx.spec.side is Side.BUY:
        long_side = book.quantity + book.open_buy
        net = totals.net_high - long_side * mark + (long_side + quantity) * price
        if net <= limit:
            return None
    else:
        short_side = book.quantity - book.open_sell
        net = totals.net_low - short_side * mark + (short_side - quantity) * price
        if net >= -limit:
            return None
    who, prefix = _scope(ctx, account)
    return deny("exposure", "MAX_NET_EXPOSURE", f"{prefix}max_net_exposure", limit, net,
                f"{who} net exposure would reach {_text(net)} with this order, beyond the limit of ±{_text(limit)}")
