"""The async client's order calls against a real server: models with Decimal and datetime."""

from __future__ import annotations

import asyncio
from datetime import UTC
from decimal import Decimal

import pytest

from execution_client import ExecutionClient, NotFound, Order
from tests.waiting import eventually


async def filled(client: ExecutionClient, order: Order) -> Order:
    return await eventually(lambda: client.get_order(order.order_id), lambda o: o.status == "FILLED")


async def test_place_order_returns_the_order_as_a_model(client: ExecutionClient) -> None:
    order = await client.place_order(symbol="AAPL", side="buy", quantity=Decimal("10"), strategy_id="momentum_v1")
    assert order.symbol == "AAPL" and order.side == "BUY" and order.order_type == "MARKET"
    assert order.time_in_force == "DAY" and order.strategy_id == "momentum_v1"
    assert order.quantity == Decimal("10") and isinstance(order.quantity, Decimal)
    assert order.limit_price is None and order.stop_price is None
    assert order.status in ("SUBMITTED", "FILLED")
    assert order.created_at.tzinfo is UTC and order.updated_at >= order.created_at
    assert len(order.client_order_id) == 36  # a uuid4 made by the client


async def test_a_market_order_fills_at_the_set_price(client: ExecutionClient) -> None:
    priced = await client.set_price("AAPL", "187.25")
    assert priced.symbol == "AAPL" and priced.price == Decimal("187.25")
    order = await client.place_order(symbol="AAPL", side="BUY", quantity=3, strategy_id="momentum_v1")
    done = await filled(client, order)
    assert done.filled_quantity == Decimal(3) and done.average_fill_price == Decimal("187.25")
    assert done.is_open is False


async def test_get_order_by_either_id(client: ExecutionClient) -> None:
    order = await client.place_order(symbol="AAPL", side="BUY", quantity=1, strategy_id="momentum_v1",
                                     client_order_id="mine-1")
    assert (await client.get_order(order.order_id)).order_id == order.order_id
    assert (await client.get_order(client_order_id="mine-1")).order_id == order.order_id


async def test_retrying_with_the_same_client_order_id_returns_the_same_order(client: ExecutionClient) -> None:
    first = await client.place_order(symbol="AAPL", side="BUY", quantity=1, strategy_id="momentum_v1",
                                     client_order_id="retry-1")
    again = await client.place_order(symbol="AAPL", side="BUY", quantity=1, strategy_id="momentum_v1",
                                     client_order_id="retry-1")
    assert again.order_id == first.order_id


async def test_cancel_a_resting_limit_order(client: ExecutionClient) -> None:
    order = await client.place_order(symbol="AAPL", side="BUY", quantity=5, order_type="limit", limit_price="100",
                                     time_in_force="GTC", strategy_id="momentum_v1")
    assert order.limit_price == Decimal("100") and order.time_in_force == "GTC"
    await eventually(lambda: client.get_order(order.order_id), lambda o: o.status == "SUBMITTED")
    await client.cancel_order(order.order_id)
    cancelled = await eventually(lambda: client.get_order(order.order_id), lambda o: o.status == "CANCELLED")
    assert cancelled.is_open is False


async def test_an_unknown_order_is_not_found(client: ExecutionClient) -> None:
    with pytest.raises(NotFound) as raised:
        await client.get_order("00000000-0000-4000-8000-000000000000")
    assert raised.value.code.name == "NOT_FOUND" and raised.value.message


async def test_positions_and_account_after_a_fill(client: ExecutionClient) -> None:
    await client.set_price("MSFT", "410.5")
    order = await client.place_order(symbol="MSFT", side="BUY", quantity=2, strategy_id="momentum_v1")
    await filled(client, order)
    positions = await eventually(lambda: client.get_positions("momentum_v1"), lambda ps: any(p.symbol == "MSFT" for p in ps))
    msft = next(p for p in positions if p.symbol == "MSFT")
    assert msft.quantity == Decimal(2) and msft.average_entry_price == Decimal("410.5")
    assert msft.strategy_id == "momentum_v1" and isinstance(msft.realized_pnl, Decimal)
    account = await client.get_account()
    assert isinstance(account.cash, Decimal) and account.equity > 0


def test_a_client_made_before_its_event_loop_runs_in_it(threaded_address: str) -> None:
    client = ExecutionClient(threaded_address)  # as a script does before asyncio.run(main())

    async def use() -> list[object]:
        async with client:
            return list(await client.get_positions())

    assert asyncio.run(use()) == []


async def test_a_closed_client_refuses_calls(address: str) -> None:
    client = ExecutionClient(address)
    await client.get_positions()
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_positions()
