"""Property: any sequence of broker events, duplicated and reordered, leaves every order in a
state the table allows, with filled quantity equal to the sum of its distinct fills and never
above its quantity (on the real database, through the OMS)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution_server.app import Application
from execution_server.brokers.base import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from execution_server.config import ReconcileConfig, replace
from execution_server.domain.orders import OrderSpec, OrderStatus, OrderType, Side, TERMINAL
from execution_server.store import repository
from tests.fakes import QuietBroker
from tests.harness import settings_for

T = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
_ids = itertools.count(1)


@st.composite
def broker_stories(draw: st.DrawFn) -> tuple[Decimal, list[tuple[str, Decimal]], bool, bool, list[int]]:
    quantity = Decimal(draw(st.integers(min_value=1, max_value=50)))
    fills: list[tuple[str, Decimal]] = []
    left = quantity
    for index in range(draw(st.integers(min_value=0, max_value=5))):
        if left == 0:
            break
        size = Decimal(draw(st.integers(min_value=1, max_value=int(left))))
        fills.append((f"x{index}", size))
        left -= size
    cancel = draw(st.booleans())
    reject = draw(st.booleans())
    events = 1 + len(fills) + cancel + reject
    order = draw(st.lists(st.integers(min_value=0, max_value=events - 1), min_size=events, max_size=events * 3))
    return quantity, fills, cancel, reject, order


def test_any_broker_event_sequence_keeps_every_order_consistent(database_url: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    app = Application(replace(settings_for(database_url, tmp_path)), broker=QuietBroker())
    loop.run_until_complete(app.start())
    try:

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(broker_stories())
        def check(story) -> None:
            loop.run_until_complete(_play(app, *story))

        check()
    finally:
        loop.run_until_complete(app.stop())
        loop.close()


async def _play(app: Application, quantity, fills, cancel, reject, sequence) -> None:
    number = next(_ids)
    spec = OrderSpec(f"p-{number}", "prop", "AAPL", Side.BUY, quantity, OrderType.LIMIT, limit_price=Decimal("1"))
    order = await app.orders.place(spec)
    broker_id = order.broker_order_id or ""
    events = [OrderAccepted(broker_id, spec.client_order_id, "new", T)]
    events += [
        OrderFilled(broker_id, spec.client_order_id, f"{number}-{execution}", size, Decimal("10") + size, T)
        for execution, size in fills
    ]
    if cancel:
        events.append(OrderCancelled(broker_id, spec.client_order_id, "asked", "canceled", T))
    if reject:
        events.append(OrderRejected(broker_id, spec.client_order_id, "no", "rejected", T))
    statuses = [order.status]
    for index in sequence:  # duplicated and reordered
        applied = await app.applier.apply(events[index])
        assert applied is not None
        statuses.append(applied.status)
    final = await app.orders.get(order_id=order.order_id)
    async with app.engine.connect() as conn:
        recorded = await repository.fills_of(conn, order.order_id)
    assert len({fill.execution_id for fill in recorded}) == len(recorded)
    assert final.filled_quantity == sum((fill.quantity for fill in recorded), Decimal(0)) <= final.quantity
    delivered = {f"{number}-{execution}" for execution, _ in fills} & {
        events[index].execution_id for index in sequence if isinstance(events[index], OrderFilled)
    }
    if not any(isinstance(events[index], OrderRejected) for index in sequence):
        assert {fill.execution_id for fill in recorded} == delivered
    if final.status is not OrderStatus.CANCELLED:
        assert (final.status is OrderStatus.FILLED) == (final.filled_quantity == final.quantity)
    for before, after in itertools.pairwise(statuses):
        if before in TERMINAL:
            assert after is before


async def test_a_fill_replayed_after_a_restart_is_applied_once(database_url: str, tmp_path: Path) -> None:
    """An open order's applied executions are loaded at start-up: a broker that sends a fill
    again after the restart (its stream replays) does not fill the order twice."""
    spec = OrderSpec("replayed-1", "prop", "AAPL", Side.BUY, Decimal("10"), OrderType.LIMIT, limit_price=Decimal("1"))
    # The quiet broker knows no orders: without repair, start-up reconciliation leaves this one open.
    settings = replace(settings_for(database_url, tmp_path), reconcile=ReconcileConfig(auto_repair=False))
    app = Application(settings, broker=QuietBroker())
    await app.start()
    try:
        order = await app.orders.place(spec)
        fill = OrderFilled(order.broker_order_id or "", spec.client_order_id, "replayed-x1", Decimal("4"), Decimal("1"), T)
        await app.applier.apply(OrderAccepted(order.broker_order_id or "", spec.client_order_id, "new", T))
        assert (await app.applier.apply(fill)).filled_quantity == Decimal("4")
    finally:
        await app.stop()

    app = Application(settings, broker=QuietBroker())
    await app.start()
    try:
        again = await app.applier.apply(fill)
        assert again is not None and again.filled_quantity == Decimal("4")
        assert again.status is OrderStatus.PARTIALLY_FILLED
        async with app.engine.connect() as conn:
            assert [f.execution_id for f in await repository.fills_of(conn, order.order_id)] == ["replayed-x1"]
    finally:
        await app.stop()
