"""Every exception a request can reach has its status code: the order-state errors of the
domain (InvalidTransition, InvalidFill) are FAILED_PRECONDITION naming the order, its state and
the event, never INTERNAL.

The one request that reaches them is Reconcile with repair, replaying what the broker reports
onto local orders: a fill on an order refused here, a filled quantity above the order's.
PlaceOrder and CancelOrder only ever take transitions the table allows (tests/domain)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.base import BrokerAck, BrokerFill, BrokerOrder, BrokerRejected
from execution_server.config import Settings
from execution_server.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from tests.fakes import QuietBroker
from tests.harness import running


class ScriptedBroker(QuietBroker):
    """Refuses or accepts each order as told, and reports the open orders the test gives it."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = False
        self.open: list[BrokerOrder] = []

    async def submit(self, order: Order) -> BrokerAck:
        if self.refuse:
            raise BrokerRejected("refused")
        return await super().submit(order)

    async def open_orders(self) -> list[BrokerOrder]:
        return list(self.open)

    async def find_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        return next((order for order in self.open if order.client_order_id == client_order_id), None)


def at_the_broker(order: pb.Order, *, filled: str, fills: tuple[BrokerFill, ...] = ()) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=order.broker_order_id or "b-late-1",
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        quantity=Decimal(order.quantity),
        filled_quantity=Decimal(filled),
        average_fill_price=Decimal("100"),
        status=OrderStatus.PARTIALLY_FILLED,
        broker_status="partially_filled",
        fills=fills,
    )


def precondition_failure(error: grpc.aio.AioRpcError) -> error_details_pb2.PreconditionFailure:
    status = rpc_status.from_call(error)
    assert status is not None
    detail = error_details_pb2.PreconditionFailure()
    assert status.details[0].Unpack(detail)
    return detail


async def test_a_fill_on_an_order_refused_here_is_a_failed_precondition_naming_state_and_event(
    settings: Settings,
) -> None:
    broker = ScriptedBroker()
    async with running(settings, broker=broker) as client:
        broker.refuse = True
        order = await client.place(quantity="10")
        assert order.status == pb.ORDER_STATUS_REJECTED
        fill = BrokerFill("x-1", Decimal("5"), Decimal("100"), datetime.now(UTC))
        broker.open = [at_the_broker(order, filled="5", fills=(fill,))]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.execution.Reconcile(pb.ReconcileRequest(repair=True))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    [violation] = precondition_failure(refused.value).violations
    assert (violation.type, violation.subject) == ("ORDER_STATE", order.order_id)
    assert "REJECTED" in violation.description and "partial_fill" in violation.description


async def test_a_fill_beyond_the_order_quantity_is_a_failed_precondition_naming_the_order(settings: Settings) -> None:
    broker = ScriptedBroker()
    async with running(settings, broker=broker) as client:
        order = await client.place(quantity="10")
        assert order.status == pb.ORDER_STATUS_SUBMITTED
        broker.open = [at_the_broker(order, filled="12")]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.execution.Reconcile(pb.ReconcileRequest(repair=True))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    [violation] = precondition_failure(refused.value).violations
    assert (violation.type, violation.subject) == ("ORDER_FILL", order.order_id)
    assert "12" in violation.description
