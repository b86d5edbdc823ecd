"""OrderManagementSystem, the embedded OMS: orders placed by the caller are recorded through the
service's writer and lifecycle, in memory or in a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution_server import OrderManagementSystem, SimulatedBroker
from execution_server.domain.orders import OrderStatus
from execution_server.oms.errors import ClientOrderIdConflict
from execution_server.schemas import OrderRequest
from execution_server.store import repository
from execution_server.store.database import create_engine
from tests.builders import an_order


def a_request(**fields: object) -> OrderRequest:
    defaults: dict[str, object] = {"symbol": "AAPL", "side": "BUY", "quantity": 10, "strategy_id": "momentum_v1"}
    return OrderRequest(**{**defaults, **fields})  # type: ignore[arg-type]


async def test_an_order_placed_at_the_broker_is_recorded_submitted_with_its_events(database_url: str) -> None:
    async with SimulatedBroker() as broker, OrderManagementSystem(database_url) as oms:
        order = await broker.place_order(a_request(client_order_id="c-1"))
        recorded = await oms.add_order(order)
        assert (recorded.status, recorded.broker_order_id) == (OrderStatus.SUBMITTED, order.broker_order_id)
        assert await oms.get_order(client_order_id="c-1") == recorded
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            events = await repository.events_after(conn, 0, 10, 10)
    finally:
        await engine.dispose()
    assert [event.event_type for event in events] == ["placed", "submitted"]


async def test_it_is_kept_in_the_database_across_instances(database_url: str) -> None:
    async with SimulatedBroker() as broker:
        async with OrderManagementSystem(database_url) as oms:
            order = await broker.place_order(a_request())
            oms.add_order(order)  # not awaited: close() finishes it
        async with OrderManagementSystem(database_url) as again:
            kept = await again.get_order(order.order_id)
            assert kept is not None and kept.quantity == Decimal(10) and kept.status is OrderStatus.SUBMITTED
            assert await again.get_order("00000000-0000-0000-0000-000000000000") is None


async def test_list_orders_filters_oldest_first(database_url: str) -> None:
    async with SimulatedBroker() as broker, OrderManagementSystem(database_url) as oms:
        placed = [await broker.place_order(a_request(symbol=symbol, strategy_id=strategy))
                  for symbol, strategy in [("AAPL", "a"), ("MSFT", "b"), ("AAPL", "b")]]
        for order in placed:
            oms.add_order(order)
        assert [o.order_id for o in await oms.list_orders()] == [o.order_id for o in placed]
        assert [o.order_id for o in await oms.list_orders(strategy_id="b", symbol="aapl")] == [placed[2].order_id]
        assert await oms.list_orders(statuses=[OrderStatus.FILLED]) == []


async def test_the_same_order_added_twice_is_recorded_once(database_url: str) -> None:
    async with SimulatedBroker() as broker, OrderManagementSystem(database_url) as oms:
        order = await broker.place_order(a_request())
        oms.add_order(order)
        oms.add_order(order)
        assert [o.order_id for o in await oms.list_orders()] == [order.order_id]


async def test_another_order_under_a_taken_client_order_id_is_refused_and_nothing_written(database_url: str) -> None:
    async with OrderManagementSystem(database_url) as oms:
        await oms.add_order(an_order(order_id="o-1", client_order_id="c-1"))
        with pytest.raises(ClientOrderIdConflict):
            await oms.add_order(an_order(order_id="o-2", client_order_id="c-1"))
        assert [o.order_id for o in await oms.list_orders()] == ["o-1"]


async def test_a_failed_write_not_awaited_is_raised_by_the_next_read() -> None:
    async with OrderManagementSystem() as oms:
        oms.add_order(an_order(order_id="o-1", client_order_id="c-1"))
        oms.add_order(an_order(order_id="o-2", client_order_id="c-1"))
        with pytest.raises(ClientOrderIdConflict):
            await oms.list_orders()
        assert [o.order_id for o in await oms.list_orders()] == ["o-1"]


@pytest.mark.parametrize("status", [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.PARTIALLY_FILLED])
async def test_only_a_new_order_can_be_added(status: OrderStatus) -> None:
    async with OrderManagementSystem() as oms:
        with pytest.raises(ValueError, match="PENDING or SUBMITTED"):
            oms.add_order(an_order(status=status))
        assert await oms.list_orders() == []
