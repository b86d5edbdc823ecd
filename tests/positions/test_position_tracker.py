"""PositionTracker, the library API, against an in-memory broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from execution_server.brokers.base import (
    BrokerAccount,
    BrokerAck,
    BrokerClient,
    BrokerEvent,
    BrokerOrder,
    BrokerPosition,
    BrokerUnavailable,
)
from execution_server.domain.orders import Order, OrderStatus, Side
from execution_server.positions.tracker import PositionTracker
from execution_server.reconcile.compare import DiscrepancyKind

from .builders import a_broker_order, a_broker_position, an_order

D = Decimal
K = DiscrepancyKind
NOW = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)


class FakeBroker:
    """A broker's reconciliation views, held in memory: its orders by client id and its positions."""

    name = "fake"

    def __init__(self, orders: Sequence[BrokerOrder] = (), positions: Sequence[BrokerPosition] = ()) -> None:
        self.orders = {order.client_order_id: order for order in orders}
        self.held = list(positions)
        self.asked_about: list[str] = []
        self.down = False

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, order: Order) -> BrokerAck:
        raise NotImplementedError

    async def cancel(self, order: Order) -> None:
        raise NotImplementedError

    async def find_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        self.asked_about.append(client_order_id)
        return self.orders.get(client_order_id)

    async def open_orders(self) -> list[BrokerOrder]:
        return [order for order in self.orders.values() if order.status.is_open]

    async def positions(self) -> list[BrokerPosition]:
        if self.down:
            raise BrokerUnavailable("connection refused")
        return list(self.held)

    async def account(self) -> BrokerAccount:
        return BrokerAccount(cash=D(0), buying_power=D(0), equity=D(0))

    async def events(self) -> AsyncIterator[BrokerEvent]:  # type: ignore[override]
        return
        yield

    def request_marker(self) -> object | None:
        return None

    async def prepare_price(self, symbol: str) -> None: ...

    def reference_price(self, symbol: str) -> Decimal | None:
        return None


def a_tracker() -> PositionTracker:
    return PositionTracker(clock=lambda: NOW)


def test_the_fake_is_a_broker_client() -> None:
    assert isinstance(FakeBroker(), BrokerClient)


async def test_the_documented_usage_finds_a_position_difference() -> None:
    tracker = a_tracker()
    tracker.apply_fill("momentum_v1", "AAPL", Side.BUY, D(10), D("187.25"))
    client = FakeBroker(positions=[a_broker_position("AAPL", "12", "187.5")])

    tracker.update_from_broker(await client.positions())
    result = await tracker.reconcile(client)

    assert result.has_discrepancies
    assert [(d.kind, d.local_quantity, d.broker_quantity) for d in result.discrepancies] == [
        (K.POSITION_QUANTITY, "10", "12")
    ]
    assert result.checked_at == NOW


async def test_without_local_orders_only_positions_are_compared() -> None:
    client = FakeBroker(orders=[a_broker_order("ext-1")])
    result = await a_tracker().reconcile(client)
    assert not result.has_discrepancies and client.asked_about == []


async def test_update_from_broker_keeps_the_snapshot_and_reconcile_refreshes_it() -> None:
    tracker = a_tracker()
    tracker.update_from_broker([a_broker_position("AAPL", "1")])
    assert tracker.broker_positions == (a_broker_position("AAPL", "1"),)
    assert tracker.broker_positions_at == NOW
    assert tracker.book.account_positions() == []  # a snapshot is not a repair

    await tracker.reconcile(FakeBroker(positions=[a_broker_position("MSFT", "2")]))
    assert tracker.broker_positions == (a_broker_position("MSFT", "2"),)


async def test_orders_closed_at_the_broker_are_told_from_orders_it_never_heard_of() -> None:
    client = FakeBroker(
        orders=[
            a_broker_order("open-both"),
            a_broker_order("filled-there", status=OrderStatus.FILLED, filled="10", broker_status="filled"),
            a_broker_order("theirs-only", symbol="MSFT"),
        ]
    )
    local = [
        an_order("open-both"),
        an_order("filled-there"),
        an_order("lost"),
        an_order("never-sent", status=OrderStatus.PENDING),
        an_order("done-here", status=OrderStatus.FILLED, filled="10"),
    ]

    result = await a_tracker().reconcile(client, local_orders=local)

    assert [(d.kind, d.client_order_id) for d in result.discrepancies] == [
        (K.ORDER_STATUS, "filled-there"),
        (K.ORDER_UNKNOWN_LOCALLY, "theirs-only"),
        (K.ORDER_MISSING_AT_BROKER, "lost"),
        (K.ORDER_FILLED_QUANTITY, "filled-there"),
    ]
    # Only orders open here, possibly sent, and absent from the broker's open list are looked up.
    assert sorted(client.asked_about) == ["filled-there", "lost"]


async def test_many_lookups_all_come_back() -> None:
    local = [an_order(f"c-{n}") for n in range(50)]
    client = FakeBroker(orders=[a_broker_order(f"c-{n}", status=OrderStatus.CANCELLED) for n in range(0, 50, 2)])
    result = await a_tracker().reconcile(client, local_orders=local)
    assert len(result.of_kind(K.ORDER_STATUS)) == 25
    assert len(result.of_kind(K.ORDER_MISSING_AT_BROKER)) == 25


async def test_a_broker_error_propagates_and_leaves_the_snapshot_alone() -> None:
    tracker = a_tracker()
    tracker.update_from_broker([a_broker_position("AAPL", "1")])
    client = FakeBroker()
    client.down = True
    with pytest.raises(BrokerUnavailable):
        await tracker.reconcile(client, local_orders=[])
    assert tracker.broker_positions == (a_broker_position("AAPL", "1"),)
