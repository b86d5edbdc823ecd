"""The in-memory portfolio that risk checks read: positions, open orders, exposure and the
day's P&L, per strategy and for the account, kept incrementally by the OMS.

Why incremental: a check runs on every order and must cost the same with 10 positions or
10,000, so every total a check reads is kept up to date by the event that changes it, never
recomputed by a scan. Each update touches one book for the strategy and one for the
account; a price change touches the books that hold the symbol (one per strategy holding
it, plus the account).

Valuation. Each symbol has one mark: the latest reference price (`on_price`), else the last
fill price, else a reconciled average price, else the price of the first priced order seen
(a best guess until a real price arrives). Exposure counts positions and open orders alike
at the mark, in the worst case for each symbol: if every open buy filled, or every open
sell. So per symbol and scope (a strategy or the account), with q the position and B, S
the open buy and sell remainders:

    gross   = max(|q + B|, |q - S|) × mark          summed over symbols
    net     = between Σ (q - S) × mark  and  Σ (q + B) × mark

P&L of the day is the change in marked value since the day started plus the day's trade
cash flow; this equals realised plus unrealised P&L measured from the day's opening marks
and needs no average price. Reconciliation repairs (`position_adjusted`) move the day's
opening value with them, so a repair is never mistaken for a profit or a loss.

Nothing here does I/O; the OMS calls, in this order for one order's life:
`order_opened` when risk accepts it (before any await, so that the next order sees it),
`order_filled` for each execution, `order_closed` when it is cancelled, rejected by the
broker or expires (a FILLED order is released by its last fill; a second close is a no-op).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal

from execution_server.domain.money import ZERO, average
from execution_server.domain.orders import Order, Side
from execution_server.domain.positions import Position, PositionChange
from execution_server.risk.books import EMPTY_TOTALS, Book, ExposureSnapshot, PositionSnapshot, Totals


class _OpenOrder:
    __slots__ = ("strategy_id", "symbol", "side", "remaining")

    def __init__(self, strategy_id: str, symbol: str, side: Side, remaining: Decimal) -> None:
        self.strategy_id = strategy_id
        self.symbol = symbol
        self.side = side
        self.remaining = remaining


class PortfolioView:
    """Positions, open orders and exposure per strategy and for the account. Every update
    is O(1) in the number of positions and orders, except `on_price` (O(holders of the
    symbol)) and `start_new_day` (a scan, once a day)."""

    def __init__(self) -> None:
        self.account = Totals()
        self._strategies: dict[str, Totals] = {}
        self._marks: dict[str, Decimal] = {}
        self._holders: dict[str, list[tuple[Totals, Book]]] = {}
        self._open: dict[str, _OpenOrder] = {}

    # --- reads (O(1)) ---

    def totals(self, strategy_id: str | None = None) -> Totals:
        if strategy_id is None:
            return self.account
        return self._strategies.get(strategy_id, EMPTY_TOTALS)

    def mark(self, symbol: str) -> Decimal | None:
        return self._marks.get(symbol)

    def strategy_ids(self) -> Iterator[str]:
        return iter(self._strategies)

    def symbols(self) -> Iterator[str]:
        """Every symbol with a book (held now or earlier, or with orders)."""
        return iter(self._holders)

    def position(self, strategy_id: str | None, symbol: str) -> PositionSnapshot:
        book = self.totals(strategy_id).book(symbol)
        return PositionSnapshot(
            symbol, book.quantity, book.average_price, book.realized, book.open_buy, book.open_sell
        )

    def exposure(self, strategy_id: str | None = None) -> ExposureSnapshot:
        totals = self.totals(strategy_id)
        return ExposureSnapshot(totals.gross, totals.net_high, totals.net_low, totals.day_pnl, totals.realized,
                                totals.open_orders)

    def is_open(self, order_id: str) -> bool:
        return order_id in self._open

    # --- updates from the OMS ---

    def order_opened(self, order: Order) -> None:
        """Reserve an accepted order's open remainder. Idempotent per order id."""
        if order.order_id in self._open or order.status.is_terminal or order.remaining_quantity <= 0:
            return
        spec = order.spec
        if spec.symbol not in self._marks:
            seed = spec.limit_price if spec.limit_price is not None else spec.stop_price
            if seed is not None:
                self.on_price(spec.symbol, seed)
        self._open[order.order_id] = _OpenOrder(spec.strategy_id, spec.symbol, spec.side, order.remaining_quantity)
        self._shift_open(spec.strategy_id, spec.symbol, spec.side, order.remaining_quantity, +1)

    def order_filled(
        self, order_before: Order, quantity: Decimal, price: Decimal, change: PositionChange | None = None
    ) -> None:
        """Apply one execution of `quantity` at `price` to `order_before` (the order as it
        was before this fill). A fill that arrives after the order was closed (it raced a
        cancel) still moves the position; it just has no open remainder left to release.
        `change` is the strategy position's change as the OMS computed it (domain apply_fill):
        read, not computed again; without it the same domain maths runs on this line."""
        strategy_id, symbol, side = order_before.strategy_id, order_before.symbol, order_before.side
        open_order = self._open.get(order_before.order_id)
        if open_order is not None:
            released = min(quantity, open_order.remaining)
            open_order.remaining -= released
            closes = open_order.remaining <= 0
            if closes:
                del self._open[order_before.order_id]
            self._shift_open(strategy_id, symbol, side, -released, -1 if closes else 0)
        if symbol not in self._marks:
            self.on_price(symbol, price)
        self._trade(strategy_id, symbol, side, quantity, price, change)

    def order_closed(self, order: Order) -> None:
        """Release what is left of an order that will not fill any more. Idempotent."""
        open_order = self._open.pop(order.order_id, None)
        if open_order is not None:
            self._shift_open(open_order.strategy_id, open_order.symbol, open_order.side, -open_order.remaining, -1)

    def position_adjusted(
        self, strategy_id: str, symbol: str, new_quantity: Decimal, avg_price: Decimal | None
    ) -> None:
        """Set a position to what reconciliation (or start-up) found, without counting the
        change as P&L of the day."""
        totals, book = self._line(strategy_id, symbol)
        account_book = self._line(None, symbol)[1]
        if symbol not in self._marks and avg_price:
            self.on_price(symbol, avg_price)
        mark = self._marks.get(symbol, ZERO)
        delta = new_quantity - book.quantity
        new_cost = new_quantity * avg_price if avg_price is not None else ZERO
        cost_change = new_cost - book.cost
        account_book.cost += cost_change
        book.cost = new_cost
        for scope, line in ((totals, book), (self.account, account_book)):
            scope.opening_value += delta * mark
            scope.opening_cost += cost_change
            self._shift(scope, line, mark, delta, ZERO, ZERO)

    def restore_point(self, strategy_id: str, symbol: str) -> Callable[[], None]:
        """A function that puts back, exactly, everything a change to the strategy's or the
        account's line in `symbol` can touch: both lines and their totals, the symbol's mark, and
        every line holding the symbol (a first mark revalues them all). For a repair whose write
        rolls back: replaying the opposite adjustment would not restore a mark that was unset, a
        line that did not exist, or a cost basis that was not quantity × average.
        O(holders of the symbol)."""
        had_strategy = strategy_id in self._strategies
        had_mark, mark = symbol in self._marks, self._marks.get(symbol)
        holders = self._holders.get(symbol)
        holders_before = None if holders is None else list(holders)
        scopes = [self.account, *([self._strategies[strategy_id]] if had_strategy else [])]
        scopes += [scope for scope, _ in holders_before or () if scope not in scopes]
        totals = [(scope, _fields(scope, _TOTALS_FIELDS), scope.books.get(symbol)) for scope in scopes]
        books = [(book, _fields(book, Book.__slots__)) for _, book in holders_before or ()]

        def restore() -> None:
            if not had_strategy:
                self._strategies.pop(strategy_id, None)
            if had_mark:
                self._marks[symbol] = mark  # type: ignore[assignment]
            else:
                self._marks.pop(symbol, None)
            if holders_before is None:
                self._holders.pop(symbol, None)
            else:
                self._holders[symbol] = holders_before
            for scope, state, book in totals:
                _set_fields(scope, state)
                if book is None:
                    scope.books.pop(symbol, None)
                else:
                    scope.books[symbol] = book
            for book, state in books:
                _set_fields(book, state)

        return restore

    def on_price(self, symbol: str, price: Decimal) -> None:
        """Revalue the symbol's books at a new mark; O(number of books holding the symbol)."""
        old = self._marks.get(symbol, ZERO)
        self._marks[symbol] = price
        change = price - old
        if not change:
            return
        for scope, book in self._holders.get(symbol, ()):
            scope.position_value += book.quantity * change
            scope.buy_value += book.open_buy * change
            scope.sell_value += book.open_sell * change
            gross = _gross(book, price)
            scope.gross += gross - book.gross
            book.gross = gross

    def opening_values(self) -> dict[str, Decimal]:
        """Per strategy, the value the day's P&L is measured from: its positions at the marks
        when the day started, moved by repairs since; none for a strategy that started flat.
        The account's is their sum."""
        return {strategy_id: totals.opening_value for strategy_id, totals in self._strategies.items() if totals.opening_value}

    def opening_costs(self) -> dict[str, Decimal]:
        """Per strategy, the cost basis the day's realised P&L is measured from: Σ quantity ×
        average price of its positions when the day started, moved by repairs since; none for a
        strategy that started flat. The account's is their sum."""
        return {strategy_id: totals.opening_cost for strategy_id, totals in self._strategies.items() if totals.opening_cost}

    def resume_day(
        self,
        openings: Mapping[str, Decimal],
        day_cash: Mapping[str, Decimal],
        opening_costs: Mapping[str, Decimal] | None = None,
    ) -> None:
        """Carry the day over a restart. With the positions loaded and marked, the day's P&L is
        their value now, plus the day's cash (sells minus buys of the day's fills), minus the
        opening value persisted for the day; a strategy without one started the day flat.
        Without this the day's P&L, and a daily loss limit with it, would restart at zero.

        The day's realised P&L is the day's cash plus the cost basis now minus the opening cost
        (each fill's realised P&L is its cash plus the change it makes to the cost basis; repairs
        move the opening cost with the basis). Today's fills alone cannot give it: a fill that
        closes a position carried from yesterday realises against yesterday's average. Without
        `opening_costs` (a day begun before they were saved) it is counted from zero, here."""
        for strategy_id in {*openings, *day_cash, *(opening_costs or ())}:
            self._strategies.setdefault(strategy_id, Totals())
        for strategy_id, totals in self._strategies.items():
            totals.opening_value = openings.get(strategy_id, ZERO)
            totals.day_cash = day_cash.get(strategy_id, ZERO)
            if opening_costs is None:
                totals.opening_cost = totals.day_cash + _cost(totals)
            else:
                totals.opening_cost = opening_costs.get(strategy_id, ZERO)
            totals.realized = totals.day_cash + _cost(totals) - totals.opening_cost
        account = self.account
        account.opening_value = sum(openings.values(), ZERO)
        account.day_cash = sum(day_cash.values(), ZERO)
        account.opening_cost = sum((totals.opening_cost for totals in self._strategies.values()), ZERO)
        # The account's realised P&L is its strategies', as every fill counts it (`_trade`).
        account.realized = sum((totals.realized for totals in self._strategies.values()), ZERO)

    def start_new_day(self) -> None:
        """Roll the day: today's P&L starts from the current marked value. A scan, once a day."""
        for scope in (self.account, *self._strategies.values()):
            scope.opening_value = scope.position_value
            scope.opening_cost = _cost(scope)
            scope.day_cash = ZERO
            scope.realized = ZERO
            for book in scope.books.values():
                book.realized = ZERO

    # --- internals ---

    def _line(self, strategy_id: str | None, symbol: str) -> tuple[Totals, Book]:
        """The totals and the book to update, created on first use."""
        if strategy_id is None:
            scope = self.account
        else:
            scope = self._strategies.get(strategy_id) or self._strategies.setdefault(strategy_id, Totals())
        book = scope.books.get(symbol)
        if book is None:
            book = scope.books[symbol] = Book()
            self._holders.setdefault(symbol, []).append((scope, book))
        return scope, book

    def _shift_open(self, strategy_id: str, symbol: str, side: Side, quantity: Decimal, count: int) -> None:
        mark = self._marks.get(symbol, ZERO)
        buy, sell = (quantity, ZERO) if side is Side.BUY else (ZERO, quantity)
        for key in (strategy_id, None):
            scope, book = self._line(key, symbol)
            scope.open_orders += count
            self._shift(scope, book, mark, ZERO, buy, sell)

    def _trade(
        self, strategy_id: str, symbol: str, side: Side, quantity: Decimal, price: Decimal, change: PositionChange | None
    ) -> None:
        totals, book = self._line(strategy_id, symbol)
        account_book = self._line(None, symbol)[1]
        if change is None:
            held = Position(symbol, book.quantity, average(book.cost, book.quantity) if book.quantity else None)
            change = PositionChange.of(held, side, quantity, price)
        realized, new_cost = change.realized, change.cost_after
        signed_quantity = side.sign * quantity
        account_book.cost += new_cost - book.cost
        book.cost = new_cost
        mark = self._marks.get(symbol, ZERO)
        for scope, line in ((totals, book), (self.account, account_book)):
            line.realized += realized
            scope.realized += realized
            scope.day_cash -= signed_quantity * price
            self._shift(scope, line, mark, signed_quantity, ZERO, ZERO)

    @staticmethod
    def _shift(scope: Totals, book: Book, mark: Decimal, quantity: Decimal, buy: Decimal, sell: Decimal) -> None:
        """Move a book's quantity and open remainders, and the scope's totals with them."""
        if quantity:
            book.quantity += quantity
            scope.position_value += quantity * mark
        if buy:
            book.open_buy += buy
            scope.buy_value += buy * mark
        if sell:
            book.open_sell += sell
            scope.sell_value += sell * mark
        gross = _gross(book, mark)
        scope.gross += gross - book.gross
        book.gross = gross


_TOTALS_FIELDS = tuple(name for name in Totals.__slots__ if name != "books")


def _fields(target: object, names: tuple[str, ...]) -> dict[str, object]:
    return {name: getattr(target, name) for name in names}


def _set_fields(target: object, state: dict[str, object]) -> None:
    for name, value in state.items():
        setattr(target, name, value)


def _cost(scope: Totals) -> Decimal:
    return sum((book.cost for book in scope.books.values()), ZERO)


def _gross(book: Book, mark: Decimal) -> Decimal:
    return max(abs(book.quantity + book.open_buy), abs(book.quantity - book.open_sell)) * mark
