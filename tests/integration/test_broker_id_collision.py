"""A broker id that another local order already holds is an anomaly on the one order it came
with: logged, the order recorded without it, and no storage error for that order or any later."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.base import BrokerAck, BrokerOrder, OrderFilled
from execution_server.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from tests.fakes import QuietBroker
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

T = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
LIMIT = {"order_type": pb.ORDER_TYPE_LIMIT, "limit_price": "100"}


class RepeatingBroker(QuietBroker):
    """Acknowledges the first two orders with the same broker id, as a broker that forgot its
    earlier life would; unique ids after that."""

    async def submit(self, order: Order) -> BrokerAck:
        ack = await super().submit(order)
        return BrokerAck("dup-1", ack.broker_status) if len(self.submitted) <= 2 else ack


async def _fill(client: Client, broker: QuietBroker, broker_order_id: str, client_order_id: str) -> pb.Order:
    """The broker reports a whole fill of the order; returns our order once it shows it."""
    broker.emit(OrderFilled(broker_order_id, client_order_id, f"x-{client_order_id}", Decimal("10"), Decimal("100"), T, "filled"))
    order_id = (await client.execution.GetOrder(pb.GetOrderRequest(client_order_id=client_order_id))).order.order_id
    return await eventually(lambda: client.get(order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)


@pytest.mark.parametrize("holder", ["open", "closed"])
async def test_an_ack_with_a_broker_id_another_order_holds_is_logged_and_the_order_still_recorded(
    database_url: str, tmp_path: Path, holder: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker = RepeatingBroker()
    async with running(settings_for(database_url, tmp_path), broker) as client:
        first = await client.place(client_order_id="first", **LIMIT)
        assert first.broker_order_id == "dup-1"
        if holder == "closed":
            await _fill(client, broker, "dup-1", "first")
        caplog.set_level(logging.WARNING)
        second = await client.place(client_order_id="second", **LIMIT)
        assert (second.status, second.broker_order_id) == (pb.ORDER_STATUS_SUBMITTED, "")
        assert not second.in_flight
        anomalies = [r for r in caplog.records if first.order_id in r.getMessage() and second.order_id in r.getMessage()]
        assert anomalies and all(r.levelno >= logging.WARNING for r in anomalies)
        later = [await client.place(client_order_id=f"later-{n}", **LIMIT) for n in range(2)]
        assert [(o.status, o.broker_order_id) for o in later] == [(pb.ORDER_STATUS_SUBMITTED, "q-3"), (pb.ORDER_STATUS_SUBMITTED, "q-4")]
        stored = await client.get(second.order_id)
        assert (stored.status, stored.broker_order_id) == (pb.ORDER_STATUS_SUBMITTED, "")


@pytest.mark.parametrize("holder", ["open", "closed"])
async def test_events_with_a_shared_broker_id_reach_the_order_their_client_order_id_names(
    database_url: str, tmp_path: Path, holder: str
) -> None:
    broker = RepeatingBroker()
    async with running(settings_for(database_url, tmp_path), broker) as client:
        first = await client.place(client_order_id="first", **LIMIT)
        if holder == "closed":
            await _fill(client, broker, "dup-1", "first")
        second = await client.place(client_order_id="second", **LIMIT)
        filled = await _fill(client, broker, "dup-1", "second")
        assert (filled.order_id, filled.filled_quantity, filled.broker_order_id) == (second.order_id, "10", "")
        untouched = await client.get(first.order_id)
        expected = pb.ORDER_STATUS_FILLED if holder == "closed" else pb.ORDER_STATUS_SUBMITTED
        assert (untouched.status, untouched.filled_quantity, untouched.broker_order_id) == (
            expected, "10" if holder == "closed" else "0", "dup-1"
        )


class ForeignOrderBroker(RepeatingBroker):
    """Also lists, as open, an order placed outside the service under a broker id that our
    first order holds."""

    async def open_orders(self) -> list[BrokerOrder]:
        foreign = BrokerOrder(
            "dup-1", "placed-elsewhere", "AAPL", Side.BUY, OrderType.LIMIT, TimeInForce.DAY, Decimal("3"), Decimal("0"),
            None, OrderStatus.SUBMITTED, "new", limit_price=Decimal("90"),
        )  # fmt: skip
        return [foreign] if self.submitted else []


async def test_reconciliation_adopts_a_broker_order_whose_id_another_order_holds(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(settings_for(database_url, tmp_path), ForeignOrderBroker()) as client:
        first = await client.place(client_order_id="first", **LIMIT)
        caplog.set_level(logging.WARNING)
        await client.execution.Reconcile(pb.ReconcileRequest(repair=True))
        adopted = (await client.execution.GetOrder(pb.GetOrderRequest(client_order_id="placed-elsewhere"))).order
        assert (adopted.strategy_id, adopted.status, adopted.broker_order_id) == ("external", pb.ORDER_STATUS_SUBMITTED, "")
        assert any(first.order_id in r.getMessage() and adopted.order_id in r.getMessage() for r in caplog.records)
        assert (await client.place(client_order_id="later", **LIMIT)).status == pb.ORDER_STATUS_SUBMITTED
