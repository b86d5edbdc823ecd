"""Reconciliation while orders flow: a difference explained by events still on their way from
the broker is never reported, let alone repaired.

The scenario of the issue that found the corruption, scaled to a few seconds: market and limit
orders (some IOC, some of quantity 0.5) across four strategies, prices moving every 0.1 s with
capped liquidity so that resting orders fill in parts, some cancels, and Reconcile(repair=true)
every 0.7 s. Every run must report nothing, nothing may move into `external`, and afterwards
each account position is the sum of its orders' fills.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.config import ReconcileConfig
from tests.harness import Client, running, settings_for

pytestmark = pytest.mark.slow

STRATEGIES = ("alpha", "beta", "gamma", "delta")
SYMBOLS = ("AAPL", "MSFT")
LOAD_SECONDS = 5.0
ORDER_SENDERS = 3  # concurrent clients, each at ORDERS_PER_SECOND / ORDER_SENDERS
ORDERS_PER_SECOND = 150


async def _orders(
    client: Client, stop: asyncio.Event, rng: random.Random, sender: int, cancels: list[asyncio.Task[None]]
) -> list[str]:
    placed: list[str] = []
    counter = itertools.count()
    while not stop.is_set():
        n = f"{sender}-{next(counter)}"
        symbol = rng.choice(SYMBOLS)
        fields = {
            "client_order_id": f"load-{n}",
            "strategy_id": rng.choice(STRATEGIES),
            "symbol": symbol,
            "side": rng.choice((pb.SIDE_BUY, pb.SIDE_SELL)),
            "quantity": rng.choice(("1", "2", "0.5", "3")),
        }
        if rng.random() < 0.5:
            fields["order_type"] = pb.ORDER_TYPE_MARKET
        else:
            fields["order_type"] = pb.ORDER_TYPE_LIMIT
            fields["limit_price"] = str(100 + rng.randint(-2, 2))
            fields["time_in_force"] = pb.TIME_IN_FORCE_IOC if rng.random() < 0.3 else pb.TIME_IN_FORCE_GTC
        try:
            order = (await client.execution.PlaceOrder(pb.PlaceOrderRequest(**fields))).order
            placed.append(order.order_id)
            if order.order_type == pb.ORDER_TYPE_LIMIT and rng.random() < 0.2:
                cancels.append(asyncio.create_task(_cancel(client, order.order_id, after_seconds=0.05)))
        except grpc.aio.AioRpcError as error:
            pytest.fail(f"PlaceOrder failed under load: {error.code()} {error.details()}")
        await asyncio.sleep(ORDER_SENDERS / ORDERS_PER_SECOND)
    return placed


async def _cancel(client: Client, order_id: str, after_seconds: float) -> None:
    await asyncio.sleep(after_seconds)
    try:
        await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=order_id))
    except grpc.aio.AioRpcError as error:
        if error.code() is not grpc.StatusCode.FAILED_PRECONDITION:  # filled meanwhile
            raise


async def _prices(client: Client, stop: asyncio.Event, rng: random.Random) -> None:
    while not stop.is_set():
        for symbol in SYMBOLS:
            price = str(100 + rng.randint(-3, 3))
            await client.simulator.SetPrice(
                sim.SetPriceRequest(symbol=symbol, price=price, available_quantity=rng.choice(("1", "2.5", "4")))
            )
        await asyncio.sleep(0.1)


async def _reconciles(client: Client, stop: asyncio.Event) -> list[pb.ReconcileResponse]:
    answers = []
    while not stop.is_set():
        await asyncio.sleep(0.7)
        answers.append(await client.execution.Reconcile(pb.ReconcileRequest(repair=True)))
    return answers


def _describe(response: pb.ReconcileResponse) -> list[str]:
    return [
        f"{pb.DiscrepancyKind.Name(d.kind)} {d.symbol} {d.order_id} local={d.local_quantity} broker={d.broker_quantity}"
        for d in response.discrepancies
    ]


async def test_repair_while_orders_flow_reports_and_moves_nothing(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(
        database_url, tmp_path, reconcile=ReconcileConfig(interval_seconds=3600, auto_repair=True)
    )
    rng = random.Random(20261201)
    async with running(settings) as client:
        for symbol in SYMBOLS:
            await client.simulator.SetPrice(sim.SetPriceRequest(symbol=symbol, price="100"))
        stop = asyncio.Event()
        cancels: list[asyncio.Task[None]] = []
        senders = [
            asyncio.create_task(_orders(client, stop, random.Random(rng.random()), sender, cancels))
            for sender in range(ORDER_SENDERS)
        ]
        prices = asyncio.create_task(_prices(client, stop, random.Random(rng.random())))
        reconciles = asyncio.create_task(_reconciles(client, stop))
        await asyncio.sleep(LOAD_SECONDS)
        stop.set()
        *sent, _, answers = await asyncio.gather(*senders, prices, reconciles)
        placed = [order_id for orders in sent for order_id in orders]
        assert len(placed) > 100 and len(answers) >= 3

        during = [line for answer in answers for line in _describe(answer)]
        assert during == [], "a reconciliation during the load reported differences explained by events in flight"

        await asyncio.gather(*cancels)
        await client.app.consumer.drained()  # every event the broker sent is applied
        quiet = await client.execution.Reconcile(pb.ReconcileRequest(repair=False))
        assert _describe(quiet) == []

        positions = (await client.execution.GetPositions(pb.GetPositionsRequest())).positions
        assert all(p.strategy_id != "external" for p in positions)
        by_strategy = {}
        for strategy in STRATEGIES:
            for p in (await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id=strategy))).positions:
                by_strategy[strategy, p.symbol] = Decimal(p.quantity)
        external = (await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id="external"))).positions
        assert [(p.symbol, p.quantity) for p in external if Decimal(p.quantity) != 0] == []

        fills: dict[str, Decimal] = {}
        for order_id in placed:
            order = (await client.execution.GetOrder(pb.GetOrderRequest(order_id=order_id))).order
            signed = Decimal(order.filled_quantity) * (1 if order.side == pb.SIDE_BUY else -1)
            fills[order.symbol] = fills.get(order.symbol, Decimal(0)) + signed
        account = {p.symbol: Decimal(p.quantity) for p in positions}
        for symbol in SYMBOLS:
            assert account.get(symbol, Decimal(0)) == fills.get(symbol, Decimal(0)), symbol
            strategies_sum = sum((q for (_, s), q in by_strategy.items() if s == symbol), Decimal(0))
            assert strategies_sum == account.get(symbol, Decimal(0)), symbol


async def test_fills_published_but_not_yet_applied_are_not_differences(database_url: str, tmp_path: Path) -> None:
    """The broker has filled (its events are queued to us, not applied) when the snapshot is
    taken: the reconciliation waits for them instead of calling them differences."""
    settings = settings_for(
        database_url, tmp_path, reconcile=ReconcileConfig(interval_seconds=3600, auto_repair=True)
    )
    async with running(settings) as client:
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="100"))
        resting = await client.place(
            client_order_id="rest-1", order_type=pb.ORDER_TYPE_LIMIT, limit_price="99",
            time_in_force=pb.TIME_IN_FORCE_GTC, quantity="10",
        )
        # In the same step of the loop: the broker fills part, then all, and we reconcile at once.
        client.app.broker.set_price("AAPL", "98", "4")  # type: ignore[attr-defined]
        client.app.broker.set_price("AAPL", "98")  # type: ignore[attr-defined]
        report = await client.app.reconciler.run(repair=True, trigger="test")
        assert [f"{d.kind.name} {d.symbol}" for d in report.result.discrepancies] == []
        order = await client.get(resting.order_id)
        assert order.status == pb.ORDER_STATUS_FILLED and order.filled_quantity == "10"
        external = (await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id="external"))).positions
        assert [p.quantity for p in external] == []
