"""The OMS alone: OrderService, the broker-event applier and the lifecycle built from their
ports without a server. The database and the writer are real (a fresh one per test); the risk
gate, the portfolio and the broker are fakes that record what they were told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from execution_server.brokers.base import OrderCancelled, OrderFilled
from execution_server.domain.orders import Order, OrderSpec, OrderStatus, OrderType, Side
from execution_server.oms.broker_events import BrokerEventApplier
from execution_server.oms.fills import FillRecorder
from execution_server.oms.lifecycle import OrderLifecycle
from execution_server.oms.service import OrderService
from execution_server.oms.state import OpenOrders
from execution_server.positions.tracker import PositionBook
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from execution_server.store.writer import GroupCommitWriter
from tests.fakes import QuietBroker

T = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@dataclass
class Denied:
    reason: str


@dataclass
class FakeRisk:
    deny: str = ""

    def check(self, spec: OrderSpec) -> Denied | None:
        return Denied(self.deny) if self.deny else None

    def forget(self, spec: OrderSpec) -> None: ...


@dataclass
class FakePortfolio:
    """What the OMS told the risk layer, in order."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def order_opened(self, order: Order) -> None:
        self.calls.append(("opened", order.client_order_id))

    def order_filled(self, order_before: Order, quantity: Decimal, price: Decimal, change: object = None) -> None:
        self.calls.append(("filled", order_before.client_order_id))

    def order_closed(self, order: Order) -> None:
        self.calls.append(("closed", order.client_order_id))

    def position_adjusted(self, strategy_id: str, symbol: str, quantity: Decimal, average: Decimal | None) -> None: ...

    def restore_point(self, strategy_id: str, symbol: str) -> Callable[[], None]:
        return lambda: None


@dataclass
class Oms:
    service: OrderService
    applier: BrokerEventApplier
    open_orders: OpenOrders
    portfolio: FakePortfolio
    risk: FakeRisk
    broker: QuietBroker
    book: PositionBook


@pytest.fixture
async def oms(database_url: str) -> AsyncIterator[Oms]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    writer = GroupCommitWriter(engine, last_sequence=0, clock=lambda: T, on_commit=lambda updates, payloads: None)
    writer.start()
    open_orders, portfolio, risk, broker, book = OpenOrders(), FakePortfolio(), FakeRisk(), QuietBroker(), PositionBook()
    lifecycle = OrderLifecycle(open_orders, portfolio)
    fills = FillRecorder(open_orders, book, portfolio, lifecycle)
    applier = BrokerEventApplier(
        writer=writer, open_orders=open_orders, fills=fills, portfolio=portfolio, lifecycle=lifecycle,
        on_unexplained=lambda what: None,
    )
    service = OrderService(
        writer=writer, reader=engine.connect, open_orders=open_orders, broker=broker, risk=risk,
        portfolio=portfolio, lifecycle=lifecycle, look_up_later=lambda order: None,
    )
    try:
        yield Oms(service, applier, open_orders, portfolio, risk, broker, book)
    finally:
        await writer.stop()
        await engine.dispose()


def a_spec(client_order_id: str, quantity: str = "10") -> OrderSpec:
    return OrderSpec(client_order_id, "s1", "AAPL", Side.BUY, Decimal(quantity), OrderType.LIMIT, limit_price=Decimal("100"))


async def test_a_placed_order_is_submitted_open_and_reserved_in_the_portfolio(oms: Oms) -> None:
    order = await oms.service.place(a_spec("c-1"))
    assert (order.status, order.broker_order_id, order.in_flight) == (OrderStatus.SUBMITTED, "q-1", False)
    assert oms.open_orders.get(order.order_id) == order
    assert oms.portfolio.calls == [("opened", "c-1")]


async def test_a_risk_denial_is_a_rejected_order_never_sent_nor_reserved(oms: Oms) -> None:
    oms.risk.deny = "MAX_ORDER_QUANTITY: 10 above 5"
    order = await oms.service.place(a_spec("c-1"))
    assert (order.status, order.reject_reason, order.in_flight) == (OrderStatus.REJECTED, "MAX_ORDER_QUANTITY: 10 above 5", False)
    assert oms.broker.submitted == [] and len(oms.open_orders) == 0
    assert ("opened", "c-1") not in oms.portfolio.calls  # told it closed, which releases nothing


async def test_a_fill_then_the_rest_closes_the_order_once_in_the_portfolio(oms: Oms) -> None:
    order = await oms.service.place(a_spec("c-1"))
    await oms.applier.apply(OrderFilled("q-1", "c-1", "x-1", Decimal("4"), Decimal("99"), T, "partially_filled"))
    done = await oms.applier.apply(OrderFilled("q-1", "c-1", "x-2", Decimal("6"), Decimal("101"), T, "filled"))
    assert done is not None and (done.status, done.filled_quantity, done.average_fill_price) == (
        OrderStatus.FILLED, Decimal("10"), Decimal("100.2")
    )
    assert oms.portfolio.calls == [("opened", "c-1"), ("filled", "c-1"), ("filled", "c-1"), ("closed", "c-1")]
    assert oms.book.account("AAPL").quantity == Decimal("10") and oms.open_orders.get(order.order_id) is None


async def test_a_late_fill_after_the_cancel_is_recorded_and_the_order_stays_cancelled(oms: Oms) -> None:
    await oms.service.place(a_spec("c-1"))
    await oms.applier.apply(OrderCancelled("q-1", "c-1", "asked", "canceled", T))
    late = await oms.applier.apply(OrderFilled("q-1", "c-1", "x-1", Decimal("3"), Decimal("100"), T, "filled"))
    assert late is not None and (late.status, late.filled_quantity) == (OrderStatus.CANCELLED, Decimal("3"))
    assert oms.portfolio.calls.count(("closed", "c-1")) == 1
    assert oms.book.get("s1", "AAPL").quantity == Decimal("3")


async def test_a_duplicate_cancel_report_changes_nothing(oms: Oms) -> None:
    await oms.service.place(a_spec("c-1"))
    first = await oms.applier.apply(OrderCancelled("q-1", "c-1", "asked", "canceled", T))
    again = await oms.applier.apply(OrderCancelled("q-1", "c-1", "asked", "canceled", T))
    assert again == first
    assert oms.portfolio.calls.count(("closed", "c-1")) == 1


async def test_a_cancel_request_is_recorded_once_and_sent_each_time(oms: Oms) -> None:
    order = await oms.service.place(a_spec("c-1"))
    oms.service._cancel_wait = 0  # the fake broker never confirms: answer at once
    first = await oms.service.cancel(order_id=order.order_id)
    second = await oms.service.cancel(order_id=order.order_id)
    assert first.cancel_requested and second == first and first.status is OrderStatus.SUBMITTED
    assert oms.broker.cancelled == ["c-1", "c-1"]
