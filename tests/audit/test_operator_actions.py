"""The audit trail through the gRPC API: every operator action (the kill switch and what its
cancel_open_orders cancelled, each simulator control, a Reconcile with repair) is recorded
with the caller's name, the time and what it did, and read back with ListOperatorActions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2
from execution.v1 import simulator_pb2 as sim
from execution_server.auth.principal import Principal, Role, acting_as, stop_acting
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

RESTING = {"order_type": pb.ORDER_TYPE_LIMIT, "limit_price": "1"}


async def actions(client: Client, **request: Any) -> list[risk_pb2.OperatorAction]:
    response = await client.risk.ListOperatorActions(risk_pb2.ListOperatorActionsRequest(**request))
    return list(response.actions)


def details(action: risk_pb2.OperatorAction) -> dict[str, Any]:
    return json.loads(action.details_json)


async def broker_id_of(client: Client, order: pb.Order) -> str:
    placed = await eventually(lambda: client.get(order.order_id), lambda o: bool(o.broker_order_id))
    return placed.broker_order_id


async def test_every_operator_action_is_recorded_with_actor_time_and_what_it_did(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        started = datetime.now(UTC)
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="190"))
        resting = await client.place(strategy_id="beta", **RESTING)
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason="runaway", cancel_open_orders=True))
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=False))
        behind_back = await broker_id_of(client, await client.place(**RESTING))
        await client.simulator.CancelAtBroker(sim.CancelAtBrokerRequest(broker_order_id=behind_back))
        expiring = await broker_id_of(client, await client.place(**RESTING))
        await client.simulator.CloseSession(sim.CloseSessionRequest())
        await client.simulator.SetBrokerPosition(sim.SetBrokerPositionRequest(symbol="TSLA", quantity="-1000"))
        await client.execution.Reconcile(pb.ReconcileRequest(repair=False))  # looking is not an action
        repaired = await client.execution.Reconcile(pb.ReconcileRequest(repair=True))
        await client.simulator.LoseEvents(sim.LoseEventsRequest(count=2))
        finished = datetime.now(UTC)

        recorded = await actions(client)
        assert [a.action for a in reversed(recorded)] == [
            "SetPrice", "SetKillSwitch", "CancelOpenOrders", "SetKillSwitch", "CancelAtBroker", "CloseSession",
            "SetBrokerPosition", "Reconcile", "LoseEvents",
        ]
        assert {a.actor for a in recorded} == {"anonymous"}  # open access: auth sets the token's name
        assert [a.id for a in recorded] == sorted((a.id for a in recorded), reverse=True)
        for action in recorded:
            assert started <= action.at.ToDatetime(UTC) <= finished
        price, engage, cancels, release, cancel_at_broker, close, position, repair, lose = reversed(recorded)
        assert details(price) == {"symbol": "AAPL", "price": "190", "available_quantity": None, "fills": 0}
        assert details(engage) == {"engaged": True, "reason": "runaway", "reduce_only": False, "cancel_open_orders": True}
        assert details(cancels) == {
            "set_kill_switch_action": engage.id, "cancelled_order_ids": [resting.order_id], "cancel_failures": [],
        }
        assert details(release)["engaged"] is False
        assert details(cancel_at_broker) == {"broker_order_id": behind_back}
        assert details(close) == {"expired_broker_order_ids": [expiring]}
        assert details(position) == {"symbol": "TSLA", "quantity": "-1000", "average_entry_price": "250"}
        assert details(lose) == {"count": 2}
        # The repair names its run, whose report (ListReconcileRuns) holds what it found and changed.
        run = (await client.execution.ListReconcileRuns(pb.ListReconcileRunsRequest(limit=1))).runs[0]
        found = details(repair)
        assert found["reconcile_run_id"] == run.run_id and found["repair"] is True
        assert found["discrepancies"] == len(repaired.discrepancies) >= 2
        assert found["kinds"]["POSITION_MISSING_LOCALLY"] == 1
        assert found["unresolved"] == 0


async def test_actions_are_read_newest_first_in_pages(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        for count in range(1, 6):
            await client.simulator.LoseEvents(sim.LoseEventsRequest(count=count))
        await client.simulator.LoseEvents(sim.LoseEventsRequest(count=0))
        first = await actions(client, limit=2)
        second = await actions(client, limit=2, before_id=first[-1].id)
        rest = await actions(client, before_id=second[-1].id)
        assert [details(a)["count"] for a in first + second + rest] == [0, 5, 4, 3, 2, 1]
        assert await actions(client, before_id=2**64 - 1) == await actions(client)  # past any id: from the newest
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await actions(client, limit=1001)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "limit" in (refused.value.details() or "")


async def test_a_refused_control_records_nothing(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="-1"))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError):
            await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason=" "))
        assert await actions(client) == []


async def test_the_actor_is_the_principal_of_the_call_not_of_the_writer(database_url: str, tmp_path: Path) -> None:
    """The kill switch is written by the writer's own task; the entry still names the caller
    (until the auth branch sets principals per RPC, one is set here as its interceptor will)."""
    async with running(settings_for(database_url, tmp_path)) as client:
        token = acting_as(Principal("desk-ops", Role.OPERATOR, None))
        try:
            await client.app.risk.set_kill_switch(engaged=True, reason="audit", reduce_only=True, cancel_open_orders=True)
        finally:
            stop_acting(token)
        recorded = await actions(client)
        assert [(a.action, a.actor) for a in recorded] == [("CancelOpenOrders", "desk-ops"), ("SetKillSwitch", "desk-ops")]


async def test_the_trail_survives_a_restart(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path)
    async with running(settings) as client:
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason="overnight"))
    async with running(settings) as client:
        assert [details(a)["reason"] for a in await actions(client)] == ["overnight"]


async def test_a_limits_reload_is_recorded_in_the_signals_name_with_its_outcome(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text('[risk]\nmax_order_quantity = "10"\n')
    async with running(settings_for(database_url, tmp_path, risk={"max_order_quantity": "10"}, config_path=path)) as client:
        path.write_text('[risk]\nmax_order_quantity = "20"\n')
        client.app.risk.reload_limits()  # what the SIGHUP handler calls
        path.write_text('[risk]\nmax_order_quantity = "-1"\n')
        client.app.risk.reload_limits()
        recorded = await eventually(lambda: actions(client), lambda found: len(found) == 2)
    refused, reloaded = recorded
    assert {refused.actor, reloaded.actor} == {"signal:SIGHUP"} and {refused.action, reloaded.action} == {"ReloadRiskLimits"}
    assert details(reloaded)["reloaded"] is True and details(reloaded)["global_limits"]["order_limits.max_order_quantity"] == "20"
    assert details(refused)["reloaded"] is False and "risk.max_order_quantity" in details(refused)["refused"]
