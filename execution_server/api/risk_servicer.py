"""RiskService: for operators, never for strategy tokens."""

from __future__ import annotations

import grpc

from execution.v1 import risk_pb2 as pb
from execution.v1 import risk_pb2_grpc
from execution_server.api.convert import timestamp
from execution_server.api.errors import translate_errors
from execution_server.api.validation import InvalidRequest
from execution_server.audit.trail import AuditTrail
from execution_server.risk.control import RiskControl
from execution_server.risk.kill_switch import TradingState

TRADING_STATES = {
    TradingState.ACTIVE: pb.TRADING_STATE_ACTIVE,
    TradingState.REDUCING: pb.TRADING_STATE_REDUCING,
    TradingState.HALTED: pb.TRADING_STATE_HALTED,
}


# ListOperatorActions: a page when the request names no limit, and the largest one.
DEFAULT_ACTIONS = 100
MAX_ACTIONS = 1000


class RiskServicer(risk_pb2_grpc.RiskServiceServicer):
    def __init__(self, risk: RiskControl, audit: AuditTrail) -> None:
        self._risk = risk
        self._audit = audit

    @translate_errors
    async def GetRiskStatus(self, request: pb.GetRiskStatusRequest, context: grpc.aio.ServicerContext) -> pb.GetRiskStatusResponse:
        manager = self._risk.manager
        switch = manager.kill_switch
        return pb.GetRiskStatusResponse(
            kill_switch_engaged=switch.engaged,
            kill_switch_reason=switch.reason,
            trading_state=TRADING_STATES[manager.trading_state()],
            reducing_strategies=manager.reducing_strategies(),
        )

    @translate_errors
    async def SetKillSwitch(self, request: pb.SetKillSwitchRequest, context: grpc.aio.ServicerContext) -> pb.SetKillSwitchResponse:
        if request.engaged and not request.reason.strip():
            raise InvalidRequest([("reason", "required when engaging: operators and logs read it")])
        state, cancelled, failed = await self._risk.set_kill_switch(
            engaged=request.engaged,
            reason=request.reason.strip(),
            reduce_only=request.reduce_only,
            cancel_open_orders=request.cancel_open_orders,
        )
        return pb.SetKillSwitchResponse(
            kill_switch_engaged=state.engaged,
            kill_switch_reason=state.reason,
            trading_state=TRADING_STATES[state.trading_state],
            cancelled_order_ids=cancelled,
            cancel_failures=[pb.CancelFailure(order_id=f.order_id, reason=f.reason) for f in failed],
        )

    @translate_errors
    async def GetRiskLimits(self, request: pb.GetRiskLimitsRequest, context: grpc.aio.ServicerContext) -> pb.GetRiskLimitsResponse:
        return pb.GetRiskLimitsResponse(
            limits=self._risk.limits.effective_limits(request.strategy_id), strategy_id=request.strategy_id
        )

    @translate_errors
    async def ListOperatorActions(
        self, request: pb.ListOperatorActionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOperatorActionsResponse:
        if request.limit > MAX_ACTIONS:
            raise InvalidRequest([("limit", f"at most {MAX_ACTIONS}")])
        actions = await self._audit.recent(request.limit or DEFAULT_ACTIONS, request.before_id or None)
        return pb.ListOperatorActionsResponse(actions=[
            pb.OperatorAction(
                id=action.id, actor=action.actor, action=action.action, details_json=action.details_json,
                at=timestamp(action.at),
            )
            for action in actions
        ])
