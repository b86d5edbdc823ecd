"""ExecutionService: protobuf in, one service call, protobuf out. No business rule lives here."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import grpc

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution_server.api import convert, validation
from execution_server.api.errors import translate_errors, translate_stream_errors
from execution_server.api.catch_up_pace import Pace
from execution_server.api.send_slots import LiveEdge, SendSlots
from execution_server.api.stream_encoding import SharedBatchMessages
from execution_server.auth import policy
from execution_server.auth.principal import caller
from execution_server.brokers.base import BrokerAccount
from execution_server.domain.positions import Position, combined
from execution_server.events.fanout import Fanout
from execution_server.oms.errors import ClientOrderIdConflict
from execution_server.oms.service import OrderService
from execution_server.reconcile.compare import ReconcileReport


class PositionSource(Protocol):
    def strategy_positions(self, strategy_id: str) -> list[Position]: ...

    def account_positions(self) -> list[Position]: ...


class Reconciler(Protocol):
    async def run(self, *, repair: bool, trigger: str) -> ReconcileReport: ...

    async def recent(self, limit: int) -> list[ReconcileReport]: ...


class ExecutionServicer(execution_pb2_grpc.ExecutionServiceServicer):
    def __init__(
        self,
        orders: OrderService,
        positions: PositionSource,
        reconciler: Reconciler,
        fanout: Fanout,
        account: Callable[[], Awaitable[BrokerAccount]],
        *,
        batch_interval: float = 0.0,
        catch_up_send_slots: int = 16,
        catch_up_share: float = 0.1,
    ) -> None:
        self._orders = orders
        self._positions = positions
        self._reconciler = reconciler
        self._fanout = fanout
        self._account = account  # the broker's own figures: BrokerClient.account
        self._batch_interval = batch_interval  # seconds between two batch messages, at least
        self._batch_messages = SharedBatchMessages()
        # Shared by every reader that is behind; paced by whether orders are being committed.
        self._slots = SendSlots(
            catch_up_send_slots, pace=Pace(catch_up_share), activity=lambda: fanout.high_water_mark
        )

    @translate_errors
    async def PlaceOrder(self, request: pb.PlaceOrderRequest, context: grpc.aio.ServicerContext) -> pb.PlaceOrderResponse:
        spec = validation.order_spec_from_proto(request)
        policy.check_may_act_for(caller(), spec.strategy_id)
        try:
            order = await self._orders.place(spec)
        except ClientOrderIdConflict as conflict:
            if policy.may_see(caller(), conflict.strategy_id):
                raise
            raise conflict.without_details() from None  # another strategy's order: neither its id nor its fields
        return pb.PlaceOrderResponse(order=convert.order_to_proto(order))

    @translate_errors
    async def CancelOrder(self, request: pb.CancelOrderRequest, context: grpc.aio.ServicerContext) -> pb.CancelOrderResponse:
        order_id, client_order_id = validation.order_reference_from_proto(request)
        order = await self._orders.cancel(order_id=order_id, client_order_id=client_order_id, strategies=caller().strategies)
        return pb.CancelOrderResponse(order=convert.order_to_proto(order))

    @translate_errors
    async def GetOrder(self, request: pb.GetOrderRequest, context: grpc.aio.ServicerContext) -> pb.GetOrderResponse:
        order_id, client_order_id = validation.order_reference_from_proto(request)
        order = await self._orders.get(order_id=order_id, client_order_id=client_order_id, strategies=caller().strategies)
        return pb.GetOrderResponse(order=convert.order_to_proto(order))

    @translate_errors
    async def ListOrders(self, request: pb.ListOrdersRequest, context: grpc.aio.ServicerContext) -> pb.ListOrdersResponse:
        if request.page_size < 0:
            raise validation.InvalidRequest([("page_size", "must not be negative")])
        scope = policy.strategy_scope(caller(), request.strategy_id)
        orders, token = await self._orders.list(
            strategy_id=request.strategy_id,
            strategies=scope,
            symbol=request.symbol.strip().upper(),
            statuses=validation.statuses_from_proto(request.statuses),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListOrdersResponse(orders=[convert.order_to_proto(order) for order in orders], next_page_token=token)

    async def StreamOrderUpdates(
        self, request: pb.StreamOrderUpdatesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        """Yields already-serialised StreamOrderUpdatesResponse bytes (see server.py's handler).
        A reader that is behind sends in turn with the others behind (api/send_slots.py)."""
        async with translate_stream_errors(context):
            fanout, slots = self._fanout, self._slots
            scope = policy.strategy_scope(caller(), request.strategy_id)
            updates = fanout.subscribe(request.after_sequence, *_filters(request), strategies=scope)
            edge = LiveEdge()
            async with contextlib.aclosing(updates):
                async for entry in updates:
                    if edge.at(entry.sequence, fanout.high_water_mark):
                        yield entry.payload
                        continue
                    slot = slots.take()
                    if slot is None:
                        slot = await slots.wait()
                    try:
                        yield entry.payload
                    finally:
                        slots.give(slot)

    async def StreamOrderUpdateBatches(
        self, request: pb.StreamOrderUpdateBatchesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        """Yields already-serialised StreamOrderUpdateBatchesResponse bytes, one per batch the
        fan-out hands over: everything ready when the previous message has been sent. A reader
        that is behind sends in turn with the others behind (api/send_slots.py)."""
        async with translate_stream_errors(context):
            limit = validation.max_updates_from_proto(request)
            strategy_id, symbol = _filters(request)
            scope = policy.strategy_scope(caller(), request.strategy_id)
            fanout, slots = self._fanout, self._slots
            batches = fanout.subscribe_batches(
                request.after_sequence, strategy_id, symbol, max_entries=limit, min_interval=self._batch_interval,
                strategies=scope,
            )
            # Readers with the same filters share each message; a token's strategies are a filter too.
            shared_key = strategy_id if scope is None else (strategy_id, scope)
            edge = LiveEdge()
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    message = self._batch_messages.message(shared_key, symbol, batch)  # type: ignore[arg-type]
                    if edge.at(batch[-1].sequence, fanout.high_water_mark):
                        yield message
                        continue
                    slot = slots.take()
                    if slot is None:
                        slot = await slots.wait()
                    try:
                        yield message
                    finally:
                        slots.give(slot)

    @translate_errors
    async def GetPositions(self, request: pb.GetPositionsRequest, context: grpc.aio.ServicerContext) -> pb.GetPositionsResponse:
        scope = policy.strategy_scope(caller(), request.strategy_id)
        if request.strategy_id:
            positions = self._positions.strategy_positions(request.strategy_id)
        elif scope is not None:  # a strategy token: its strategies summed, not the account
            positions = _summed(self._positions, scope)
        else:
            positions = self._positions.account_positions()
        return pb.GetPositionsResponse(
            positions=[convert.position_to_proto(position, request.strategy_id) for position in positions]
        )

    @translate_errors
    async def GetAccount(self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext) -> pb.GetAccountResponse:
        return convert.account_to_proto(await self._account())

    @translate_errors
    async def Reconcile(self, request: pb.ReconcileRequest, context: grpc.aio.ServicerContext) -> pb.ReconcileResponse:
        report = await self._reconciler.run(repair=request.repair, trigger="rpc")
        return convert.reconcile_report_to_proto(report)

    @translate_errors
    async def ListReconcileRuns(
        self, request: pb.ListReconcileRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReconcileRunsResponse:
        if request.limit < 0:
            raise validation.InvalidRequest([("limit", "must not be negative")])
        reports = await self._reconciler.recent(request.limit or 20)
        return pb.ListReconcileRunsResponse(runs=[convert.reconcile_report_to_proto(report) for report in reports])


def _summed(source: PositionSource, strategies: frozenset[str]) -> list[Position]:
    """Per symbol, the positions of these strategies as one (domain.positions.combined)."""
    by_symbol: dict[str, list[Position]] = {}
    for strategy_id in sorted(strategies):
        for position in source.strategy_positions(strategy_id):
            by_symbol.setdefault(position.symbol, []).append(position)
    return [combined(symbol, by_symbol[symbol]) for symbol in sorted(by_symbol)]


def _filters(request: pb.StreamOrderUpdatesRequest | pb.StreamOrderUpdateBatchesRequest) -> tuple[str, str]:
    """(strategy_id, symbol) as the fan-out filters them."""
    return request.strategy_id, request.symbol.strip().upper()
