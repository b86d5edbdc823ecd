"""The kill switch through RiskService: it rejects new orders, survives a restart, and can
cancel every open order."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2
from execution_server.brokers.base import BrokerUnavailable
from execution_server.domain.orders import Order
from tests.fakes import QuietBroker
from tests.harness import running, settings_for
from tests.waiting import eventually


async def test_engaged_kill_switch_rejects_new_orders_with_the_operators_reason(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason="desk halt"))
        order = await client.place()
        assert order.status == pb.ORDER_STATUS_REJECTED
        assert order.reject_reason == "KILL_SWITCH: desk halt"
        status = await client.risk.GetRiskStatus(risk_pb2.GetRiskStatusRequest())
        assert status.kill_switch_engaged and status.trading_state == risk_pb2.TRADING_STATE_HALTED


async def test_kill_switch_stays_engaged_across_a_restart(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path)
    async with running(settings) as client:
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason="overnight"))
    async with running(settings) as client:
        status = await client.risk.GetRiskStatus(risk_pb2.GetRiskStatusRequest())
        assert status.kill_switch_engaged and status.kill_switch_reason == "overnight"
        assert (await client.place()).status == pb.ORDER_STATUS_REJECTED
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=False))
    async with running(settings) as client:
        assert not (await client.risk.GetRiskStatus(risk_pb2.GetRiskStatusRequest())).kill_switch_engaged
        assert (await client.place()).status != pb.ORDER_STATUS_REJECTED


async def test_engaging_with_cancel_ends_every_open_order_cancelled(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        resting = [
            await client.place(strategy_id=strategy, order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
            for strategy in ("alpha", "beta", "gamma")
        ]
        response = await client.risk.SetKillSwitch(
            risk_pb2.SetKillSwitchRequest(engaged=True, reason="runaway", cancel_open_orders=True)
        )
        assert sorted(response.cancelled_order_ids) == sorted(order.order_id for order in resting)
        for order in resting:
            final = await eventually(lambda o=order: client.get(o.order_id), lambda o: o.status == pb.ORDER_STATUS_CANCELLED)
            assert final.cancel_reason


async def test_reduce_only_admits_an_order_that_shrinks_a_position(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        bought = await client.place(quantity="10")
        await eventually(lambda: client.get(bought.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason="wind down", reduce_only=True))
        assert (await client.place(quantity="5")).status == pb.ORDER_STATUS_REJECTED
        shrink = await client.place(side=pb.SIDE_SELL, quantity="4")
        assert shrink.status != pb.ORDER_STATUS_REJECTED, shrink.reject_reason


async def test_engaging_needs_a_reason(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class UnreachableForSome(QuietBroker):
    """Accepts every order; cancels of the ones named cannot reach the broker."""

    def __init__(self) -> None:
        super().__init__()
        self.unreachable: set[str] = set()

    async def cancel(self, order: Order) -> None:
        if order.client_order_id in self.unreachable:
            raise BrokerUnavailable("connection refused")
        await super().cancel(order)


async def test_the_kill_switch_tells_cancels_that_failed_from_those_requested(
    database_url: str, tmp_path: Path
) -> None:
    broker = UnreachableForSome()
    settings = settings_for(database_url, tmp_path, cancel_wait_seconds=0.0)
    async with running(settings, broker=broker) as client:
        resting = [await client.place(client_order_id=f"k-{n}", order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
                   for n in range(3)]
        broker.unreachable = {"k-1"}
        response = await client.risk.SetKillSwitch(
            risk_pb2.SetKillSwitchRequest(engaged=True, reason="runaway", cancel_open_orders=True)
        )
    assert sorted(response.cancelled_order_ids) == sorted([resting[0].order_id, resting[2].order_id])
    assert [(f.order_id, f.reason) for f in response.cancel_failures] == [(resting[1].order_id, "connection refused")]
    assert sorted(broker.cancelled) == ["k-0", "k-2"]
