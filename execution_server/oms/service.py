"""The order path: record → risk → submit → apply the broker's answer.

The order is persisted PENDING (flagged in flight) before the broker is called, and sent with
its client order id, so that after a crash start-up recovery finds it at the broker instead of
sending it again. Only a definite refusal is a rejection; an unknown outcome leaves the order
PENDING and in flight until the broker is asked, its stream reports, or reconciliation settles it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from execution_server.brokers.base import (
    BrokerAck,
    BrokerClient,
    BrokerError,
    BrokerRejected,
    BrokerUnavailable,
    CancelRefused,
    SubmissionOutcomeUnknown,
)
from execution_server.domain.orders import REJECT, Order, OrderSpec, OrderStatus
from execution_server.domain.quoting import excerpt
from execution_server.oms.errors import (
    ClientOrderIdConflict,
    InvalidPageToken,
    OrderNotCancellable,
    OrderNotFound,
)
from execution_server.oms.lifecycle import OrderLifecycle
from execution_server.oms.page_tokens import PageTokens
from execution_server.oms.ports import PortfolioListener, RiskGate
from execution_server.oms.state import OpenOrders
from execution_server.store import repository
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_PAGE_SIZE = 1000
PRICE_LOOKUP_SECONDS = 2.0
# How long no call may have begun beside another before the flow counts as one at a time.
ALONE_SECONDS = 0.1
DEFAULT_PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True, slots=True)
class CancelFailure:
    """An order whose cancel could not be requested, and why."""

    order_id: str
    reason: str


class OrderService:
    def __init__(
        self,
        *,
        writer: GroupCommitWriter,
        reader: Callable[[], object],
        open_orders: OpenOrders,
        broker: BrokerClient,
        risk: RiskGate,
        portfolio: PortfolioListener,
        lifecycle: OrderLifecycle,
        look_up_later: Callable[[Order], None],
        cancel_wait_seconds: float = 1.0,
        submit_timeout_seconds: float = 10.0,
        stream_up: Callable[[], bool] | None = None,
        page_tokens: PageTokens | None = None,
    ) -> None:
        self._writer = writer
        self._page_tokens = page_tokens or PageTokens()  # a random key: see page_tokens.py
        # An async context manager factory giving a read connection; its failures are
        # StoreUnavailable (store/reads.py).
        self._read = reader
        self._open = open_orders
        self._broker = broker
        self._risk = risk
        self._portfolio = portfolio
        self._lifecycle = lifecycle
        self._look_up_later = look_up_later
        self._cancel_wait = cancel_wait_seconds
        self._submit_timeout = submit_timeout_seconds
        self._stream_up = stream_up  # set: orders are refused while the broker's stream is down
        self._calls = 0  # place and cancel calls under way
        self._had_company_at = -ALONE_SECONDS  # when a call last began beside another (monotonic)

    @property
    def calls_in_flight(self) -> int:
        """PlaceOrder and CancelOrder calls under way."""
        return self._calls

    @property
    def alone(self) -> bool:
        """At most one call under way, and none began beside another for ALONE_SECONDS: the
        flow is one order at a time (the writer's hint: writes_alone). The delay is what keeps
        it from misjudging a busy service: under load, calls wait in gRPC before they get here,
        the more so when a batch runs on the loop, so that a moment with one call under way
        says nothing; but at any load a call begins beside another within a few milliseconds."""
        return self._calls <= 1 and time.monotonic() - self._had_company_at > ALONE_SECONDS

    def _began(self) -> None:
        self._calls += 1
        if self._calls > 1:
            self._had_company_at = time.monotonic()

    # --- PlaceOrder ---

    async def place(self, spec: OrderSpec) -> Order:
        self._began()
        try:
            return await self._place(spec)
        finally:
            self._calls -= 1

    async def _place(self, spec: OrderSpec) -> Order:
        if self._broker.reference_price(spec.symbol) is None:
            await self._look_up_price(spec.symbol)  # nothing written yet: a cancellation ends it here
        # Once queued, the order is committed whatever the caller does; if the caller goes away
        # meanwhile (its deadline, a cancel), the order is sent all the same, never left PENDING
        # and unsent, and the caller's retry with the same client order id finds it.
        recorded = self._writer.submit(lambda tx: self._record(tx, spec))
        (order, is_new), caller_gone = await _despite_cancellation(recorded, lambda: log.info(
            "PlaceOrder (client order id %r): its caller went away while the order was recorded; placed all the same",
            spec.client_order_id[:64]))
        if is_new:
            order = await self._submit(order)
        if caller_gone:
            raise asyncio.CancelledError
        return order

    async def _record(self, tx: Transaction, spec: OrderSpec) -> tuple[Order, bool]:
        if not spec.client_order_id:
            # Assigned here, it cannot belong to an earlier order: no lookup needed.
            spec = dataclasses.replace(spec, client_order_id=str(uuid.uuid4()))
        else:
            existing = await self._open.find(tx, client_order_id=spec.client_order_id)
            if existing is not None:
                if existing.spec != spec:
                    raise ClientOrderIdConflict(
                        spec.client_order_id, existing.order_id, _differences(existing.spec, spec), existing.strategy_id
                    )
                return existing, False
        denial = self._stream_denial() or self._risk.check(spec)
        # In flight from here when it is to be sent: persisted so before the broker is called.
        order = Order(
            order_id=str(uuid.uuid4()),
            spec=spec,
            status=OrderStatus.PENDING,
            created_at=tx.now,
            updated_at=tx.now,
            in_flight=denial is None,
        )
        if denial is not None:
            self._lifecycle.place(tx, order)
            return self._lifecycle.reject(tx, order, denial.reason), False
        # Reserved in the portfolio before anything is awaited, so the next order's checks see it.
        self._portfolio.order_opened(order)
        tx.on_rollback(lambda: self._portfolio.order_closed(order))
        tx.on_rollback(lambda: self._risk.forget(spec))
        return self._lifecycle.place(tx, order), True

    async def _look_up_price(self, symbol: str) -> None:
        """The first order for a symbol with no price here: the broker is asked, for a bounded
        time, so that risk does not refuse it merely for being first. Whatever fails, risk then
        decides with what there is (and names a price that is missing)."""
        try:
            async with asyncio.timeout(PRICE_LOOKUP_SECONDS):
                await self._broker.prepare_price(symbol)
        except (BrokerError, TimeoutError) as error:
            log.warning("no reference price for %s from the broker (%s)", symbol, error)

    def _stream_denial(self) -> _Denied | None:
        if self._stream_up is None or self._stream_up():
            return None
        return _Denied("BROKER_STREAM_DOWN: the broker's event stream is down and this service is set to refuse orders "
                       "meanwhile (reject_orders_while_stream_down)")

    async def _submit(self, order: Order) -> Order:
        self._open.watch(order.order_id)  # what the broker's events commit meanwhile, for the reply
        try:
            return await self._send(order)
        finally:
            self._open.unwatch(order.order_id)  # whichever way it ended

    async def _send(self, order: Order) -> Order:
        reason, broker_status = "", ""
        try:
            async with asyncio.timeout(self._submit_timeout):  # no task per order, unlike wait_for
                ack = await self._broker.submit(order)
        except BrokerRejected as refusal:
            reason, broker_status = f"BROKER_REJECTED: {refusal.reason}", refusal.broker_status
        except BrokerUnavailable as error:
            # Certainly not sent: a definite outcome, so a rejection the client can act on.
            reason = f"BROKER_UNAVAILABLE: {error}"
        except asyncio.CancelledError:
            # The caller went away while the broker was asked: the order may be there, so it is
            # settled by client order id, as any unknown outcome.
            log.info("order %s: its caller went away during the submission; settling by client order id", order.order_id)
            self._look_up_later(order)
            raise
        except (SubmissionOutcomeUnknown, TimeoutError) as error:  # dropped connection, 5xx, no answer in time
            log.warning("order %s: submission outcome unknown (%r); settling by client order id", order.order_id, error)
            self._look_up_later(order)
            return self._open.get(order.order_id) or order
        except Exception:
            # A bug in the adapter, not an answer from the broker: loud, with its traceback. The
            # order may still have been sent, so it is settled by lookup all the same.
            log.exception("order %s: the broker adapter failed unexpectedly; settling by client order id", order.order_id)
            self._look_up_later(order)
            return self._open.get(order.order_id) or order
        else:
            return await self._record_answer(order, lambda tx: self.acknowledge(tx, order.order_id, ack))
        return await self._record_answer(order, lambda tx: self._reject(tx, order.order_id, reason, broker_status))

    async def _record_answer(self, order: Order, write: Callable[[Transaction], Awaitable[Order]]) -> Order:
        """Write the broker's answer. The order is already durable (and, but for a refusal, at the
        broker): if the answer cannot be written, an error would tell the client it has no order
        when it may well have a live one. The reply is the order as last committed (in flight),
        and settlement brings it to the broker's truth."""
        try:
            answered = await self._writer.run(write)
        except Exception as error:  # noqa: BLE001 - whatever failed, the order exists
            log.error("order %s: the broker's answer could not be recorded (%s); settling by client order id",
                      order.order_id, error)
            self._look_up_later(order)
            # Not the open-orders view: it may hold a later batch's change not yet committed
            # (and perhaps never to be).
            try:
                return await self.get(order_id=order.order_id)
            except Exception:  # noqa: BLE001 - the store cannot answer either: the order as recorded
                return order
        return await self._latest(answered)

    async def _latest(self, answered: Order) -> Order:
        """The order as it is when the reply is sent: the broker's events may have moved it on
        since the answer was written (a market order's fill, in the same batch or the next).
        Its last committed version is kept in memory while the order is being placed (not the
        open-orders view, which may hold a change of the batch now being written): no read."""
        latest = self._open.last_committed(answered.order_id)
        return answered if latest is None else latest

    async def acknowledge(self, tx: Transaction, order_id: str, ack: BrokerAck) -> Order:
        order = self._open.get(order_id) or await tx.get_order(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return await self._lifecycle.accept(tx, order, ack.broker_order_id, ack.broker_status)

    async def _reject(self, tx: Transaction, order_id: str, reason: str, broker_status: str) -> Order:
        order = self._open.get(order_id) or await tx.get_order(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        if not self._lifecycle.allows(order, REJECT):
            # The stream got there first (its fill or cancel is the broker's last word, newer
            # than this answer to the submission): the answer is recorded as no change.
            log.info("order %s: the broker's refusal (%s) came after it was %s; left %s",
                     order_id, reason, order.status.value, order.status.value)
            return order
        return self._lifecycle.reject(tx, order, reason, broker_status)

    # --- CancelOrder ---

    async def cancel(
        self, order_id: str = "", client_order_id: str = "", *, strategies: frozenset[str] | None = None
    ) -> Order:
        """`strategies`: the caller's (None: every strategy); another strategy's order is not
        found, exactly as one that does not exist."""
        self._began()
        try:
            return await self._cancel(order_id, client_order_id, strategies)
        finally:
            self._calls -= 1

    async def _cancel(self, order_id: str, client_order_id: str, strategies: frozenset[str] | None) -> Order:
        order, send = await self._writer.run(lambda tx: self._request_cancel(tx, order_id, client_order_id, strategies))
        if not send:
            return order
        changed = self._open.wait_for_change(order.order_id)
        try:
            await self._broker.cancel(order)
        except CancelRefused as refusal:
            # Typically filled meanwhile: the fill is on its way through the stream.
            log.info("order %s: broker refused the cancel: %s", order.order_id, refusal.reason)
        return await self._confirmed_within(order, changed)

    async def _request_cancel(
        self, tx: Transaction, order_id: str, client_order_id: str, strategies: frozenset[str] | None
    ) -> tuple[Order, bool]:
        order = self._open.get(order_id) if order_id else None
        if order is None:
            order = await self._find_any(tx, order_id, client_order_id)
        if strategies is not None and order.strategy_id not in strategies:
            raise OrderNotFound(_reference(order_id, client_order_id))
        if order.status is OrderStatus.CANCELLED:
            return order, False
        if order.status.is_terminal:
            raise OrderNotCancellable(order.order_id, order.status)
        if order.cancel_requested:
            return order, True  # asked before: ask the broker again, record nothing new
        return self._lifecycle.request_cancel(tx, order), True

    async def _confirmed_within(self, order: Order, changed: asyncio.Future[Order]) -> Order:
        """Wait briefly for the broker's confirmation so that the usual answer is the final one."""
        deadline = asyncio.get_running_loop().time() + self._cancel_wait
        current = self._open.get(order.order_id)
        while current is not None:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return current
            try:
                await asyncio.wait_for(asyncio.shield(changed), remaining)
            except TimeoutError:
                return self._open.get(order.order_id) or await self.get(order_id=order.order_id)
            current = self._open.get(order.order_id)
            changed = self._open.wait_for_change(order.order_id)
        return await self.get(order_id=order.order_id)

    async def cancel_all_open(self, reason: str) -> tuple[list[str], list[CancelFailure]]:
        """Request a cancel of every open order (kill switch): the ids of those whose cancel
        was requested, and those whose cancel failed, with the reason (they may still work).
        An order that closed meanwhile is in neither."""
        orders = self._open.all()

        async def cancel_one(order: Order) -> str | CancelFailure | None:
            try:
                await self.cancel(order_id=order.order_id)
            except (OrderNotCancellable, OrderNotFound):
                return None
            except Exception as error:  # noqa: BLE001 - told to the operator, not raised: the others go on
                log.error("order %s: cancel for %s failed: %s", order.order_id, reason, error)
                return CancelFailure(order.order_id, str(error) or error.__class__.__name__)
            return order.order_id

        results = await asyncio.gather(*(cancel_one(order) for order in orders))
        cancelled = [result for result in results if isinstance(result, str)]
        return cancelled, [result for result in results if isinstance(result, CancelFailure)]

    # --- GetOrder / ListOrders ---

    async def get(
        self, order_id: str = "", client_order_id: str = "", *, strategies: frozenset[str] | None = None
    ) -> Order:
        """`strategies` as for cancel: another strategy's order is not found."""
        async with self._read() as conn:  # type: ignore[attr-defined]
            order = None
            if order_id:
                order = await repository.get_order(conn, order_id)
            elif client_order_id:
                order = await repository.get_order_by_client_id(conn, client_order_id)
        if order is None or (strategies is not None and order.strategy_id not in strategies):
            raise OrderNotFound(_reference(order_id, client_order_id))
        return order

    async def _find_any(self, tx: Transaction, order_id: str, client_order_id: str) -> Order:
        order = None
        if order_id:
            order = self._open.get(order_id) or await tx.get_order(order_id)
        elif client_order_id:
            order = await self._open.find(tx, client_order_id=client_order_id)
        if order is None:
            raise OrderNotFound(_reference(order_id, client_order_id))
        return order

    async def list(
        self,
        *,
        strategy_id: str = "",
        symbol: str = "",
        statuses: Sequence[OrderStatus] = (),
        page_size: int = 0,
        page_token: str = "",
        strategies: frozenset[str] | None = None,
    ) -> tuple[list[Order], str]:
        """`strategies`: only these strategies' orders (None: every strategy's), beside the
        `strategy_id` filter; a page token is good only for the same filters and strategies."""
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        filters = _filter_key(strategy_id, symbol, statuses)
        if strategies is not None:
            filters += "|" + ",".join(sorted(strategies))
        after = self._page_tokens.position(page_token, filters) if page_token else 0
        async with self._read() as conn:  # type: ignore[attr-defined]
            rows = await repository.list_orders(
                conn, strategy_id=strategy_id, symbol=symbol, statuses=statuses, after_position=after, limit=size + 1,
                strategies=strategies,
            )
        more = len(rows) > size
        rows = rows[:size]
        token = self._page_tokens.issue(rows[-1][0], filters) if more and rows else ""
        return [order for _, order in rows], token


@dataclasses.dataclass(frozen=True, slots=True)
class _Denied:
    reason: str


def _reference(order_id: str, client_order_id: str) -> str:
    return f"with order_id {excerpt(order_id)}" if order_id else f"with client_order_id {excerpt(client_order_id)}"


def _differences(existing: OrderSpec, requested: OrderSpec) -> list[str]:
    names = ("strategy_id", "symbol", "side", "quantity", "order_type", "time_in_force", "limit_price", "stop_price")
    return [name for name in names if getattr(existing, name) != getattr(requested, name)]


def _filter_key(strategy_id: str, symbol: str, statuses: Sequence[OrderStatus]) -> str:
    return "|".join([strategy_id, symbol, ",".join(sorted(status.value for status in statuses))])


async def _despite_cancellation(future: asyncio.Future[T], on_cancel: Callable[[], None]) -> tuple[T, bool]:
    """The future's result, waited for even if this task is cancelled meanwhile (the
    cancellation is then absorbed, and reported as True, for the caller to re-raise when its
    work is done)."""
    cancelled = False
    while True:
        try:
            return await asyncio.shield(future), cancelled
        except asyncio.CancelledError:
            if future.cancelled():
                raise
            if not cancelled:
                on_cancel()
            cancelled = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
