"""The audit trail names the token that acted: an operator's kill switch, repair and simulator
control are recorded under the token's configured name (never the token), and a strategy
token can neither act nor read the trail."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import risk_pb2
from execution.v1 import simulator_pb2 as sim
from tests.auth.kit import MOMENTUM_TOKEN, OPERATOR_TOKEN, auth_settings, bearer
from tests.harness import running


async def test_operator_actions_are_recorded_in_the_token_s_name(database_url: str, tmp_path: Path) -> None:
    ops = bearer(OPERATOR_TOKEN)
    async with running(auth_settings(database_url, tmp_path)) as client:
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="190"), metadata=ops)
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=True, reason="drill"), metadata=ops)
        await client.risk.SetKillSwitch(risk_pb2.SetKillSwitchRequest(engaged=False), metadata=ops)
        await client.execution.Reconcile(pb.ReconcileRequest(repair=True), metadata=ops)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.risk.SetKillSwitch(
                risk_pb2.SetKillSwitchRequest(engaged=True, reason="not mine"), metadata=bearer(MOMENTUM_TOKEN)
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await client.risk.ListOperatorActions(risk_pb2.ListOperatorActionsRequest(), metadata=bearer(MOMENTUM_TOKEN))
        assert hidden.value.code() == grpc.StatusCode.PERMISSION_DENIED

        recorded = (await client.risk.ListOperatorActions(risk_pb2.ListOperatorActionsRequest(), metadata=ops)).actions
        assert [(a.action, a.actor) for a in reversed(recorded)] == [
            ("SetPrice", "ops"), ("SetKillSwitch", "ops"), ("SetKillSwitch", "ops"), ("Reconcile", "ops"),
        ]
        assert all(OPERATOR_TOKEN not in a.details_json for a in recorded)
