"""ExecutionClient: the service's calls as coroutines (grpc.aio), answers as models, failures as
ExecutionError."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import grpc

from execution_client import calls, convert
from execution_client._proto.execution.v1 import execution_pb2_grpc, risk_pb2_grpc, simulator_pb2_grpc
from execution_client.channel import Connection
from execution_client.errors import error_from_rpc
from execution_client.models import (
    Account, KillSwitchResult, OperatorAction, Order, OrderUpdate, Position, PriceSet, ReconcileResult,
    RiskLimits, RiskStatus,
)
from execution_client.resume import Backoff, ResumePoint, is_retryable

T = TypeVar("T")


class ExecutionClient:
    """An async client of one execution server. Use `async with`, or `await close()`.

    Decimal arguments also take int and str (converted exactly); a float is refused with a
    TypeError naming the argument. `timeout` is each unary call's deadline, in seconds.
    `stream_backoff` is the order stream's reconnection delay, (first, longest) in seconds."""

    def __init__(
        self, address: str = "127.0.0.1:50051", *, token: str | None = None, tls: bool = False,
        ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None,
        server_name: str | None = None, timeout: float | None = 10.0, stream_backoff: tuple[float, float] = (0.1, 5.0),
    ) -> None:
        self._connection = Connection(address, token, tls, ca_file, cert_file, key_file, server_name)
        self._timeout = timeout
        self._stream_backoff = stream_backoff
        # Made at the first call: a grpc.aio channel belongs to the event loop it was made in,
        # and a client may be constructed before asyncio.run() starts the loop that uses it.
        self._channel: grpc.aio.Channel | None = None
        self._stubs: dict[str, Any] = {}
        self._closed = asyncio.Event()

    async def __aenter__(self) -> ExecutionClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel; order streams being read end (without an error)."""
        self._closed.set()
        if self._channel is not None:
            await self._channel.close()

    def _stub(self, service: str) -> Any:
        if self._closed.is_set():
            raise RuntimeError("the client is closed")
        if self._channel is None:
            self._channel = self._connection.aio_channel()
            self._stubs = {
                "execution": execution_pb2_grpc.ExecutionServiceStub(self._channel),
                "risk": risk_pb2_grpc.RiskServiceStub(self._channel),
                "simulator": simulator_pb2_grpc.SimulatorServiceStub(self._channel),
            }
        return self._stubs[service]

    async def _send(self, call: calls.Unary[T]) -> T:
        method = getattr(self._stub(call.service), call.method)
        try:
            response = await method(call.request, timeout=self._timeout, metadata=self._connection.metadata)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None
        return call.decode(response)

    # --- orders ---

    async def place_order(
        self, *, symbol: str, side: Any, quantity: Any, strategy_id: str, order_type: Any = "MARKET",
        limit_price: Any = None, stop_price: Any = None, time_in_force: Any = "DAY", client_order_id: str | None = None,
    ) -> Order:
        """A risk or broker rejection is an order in REJECTED (with its reject_reason), not an
        exception. Without a client_order_id one is made (uuid4)."""
        return await self._send(calls.place_order(
            symbol=symbol, side=side, quantity=quantity, strategy_id=strategy_id, order_type=order_type,
            limit_price=limit_price, stop_price=stop_price, time_in_force=time_in_force,
            client_order_id=client_order_id))

    async def cancel_order(self, order_id: str | None = None, *, client_order_id: str | None = None) -> Order:
        return await self._send(calls.cancel_order(order_id, client_order_id=client_order_id))

    async def get_order(self, order_id: str | None = None, *, client_order_id: str | None = None) -> Order:
        return await self._send(calls.get_order(order_id, client_order_id=client_order_id))

    async def list_orders(
        self, *, strategy_id: str | None = None, symbol: str | None = None, status: Any = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Order]:
        """Every matching order, newest pages fetched as the iteration reaches them."""
        token = ""
        while True:
            page = calls.list_orders_page(
                strategy_id=strategy_id, symbol=symbol, status=status, page_size=page_size, page_token=token
            )
            orders, token = await self._send(page)
            for order in orders:
                yield order
            if not token:
                return

    async def get_positions(self, strategy_id: str | None = None) -> list[Position]:
        return await self._send(calls.get_positions(strategy_id))

    async def reconcile(self, *, repair: bool = False) -> ReconcileResult:
        return await self._send(calls.reconcile(repair=repair))

    async def list_reconcile_runs(self, limit: int | None = None) -> list[ReconcileResult]:
        return await self._send(calls.list_reconcile_runs(limit))

    async def get_account(self) -> Account:
        return await self._send(calls.get_account())

    async def stream_order_updates(
        self, *, strategy_id: str | None = None, symbol: str | None = None, from_sequence: int = 0
    ) -> AsyncIterator[OrderUpdate]:
        """Every update after `from_sequence` (0: all the service keeps), then live, forever.

        A dropped connection or a restarted server is retried with backoff, resuming after the
        last update delivered: no gap, no duplicate. It ends when the client is closed; a refusal
        that would recur (UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT, OUT_OF_RANGE...)
        is raised."""
        resume = ResumePoint(calls.sequence_start(from_sequence))
        backoff = Backoff(*self._stream_backoff)
        while not self._closed.is_set():
            request = calls.stream_request(strategy_id=strategy_id, symbol=symbol, after_sequence=resume.after_sequence)
            call = self._stub("execution").StreamOrderUpdates(request, metadata=self._connection.metadata)
            try:
                async for message in call:
                    backoff.reset()
                    if resume.admit(message.sequence):
                        yield convert.update_of(message)
            except grpc.RpcError as error:
                if self._closed.is_set():
                    return
                if not is_retryable(error.code()):
                    raise error_from_rpc(error) from None
            except asyncio.CancelledError:
                if self._closed.is_set():  # the channel closed under the read, not our task cancelled
                    return
                raise
            finally:
                call.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), backoff.next_delay())

    # --- risk ---

    async def get_risk_status(self) -> RiskStatus:
        return await self._send(calls.get_risk_status())

    async def set_kill_switch(self, enabled: bool, *, reason: str = "", cancel_open_orders: bool = False,
                              reduce_only: bool = False) -> KillSwitchResult:
        return await self._send(calls.set_kill_switch(
            enabled, reason=reason, cancel_open_orders=cancel_open_orders, reduce_only=reduce_only))

    async def get_risk_limits(self, strategy_id: str | None = None) -> RiskLimits:
        return await self._send(calls.get_risk_limits(strategy_id))

    async def list_operator_actions(self, limit: int | None = None, *, before_id: int | None = None) -> list[OperatorAction]:
        return await self._send(calls.list_operator_actions(limit, before_id=before_id))

    # --- the simulated broker (served only with it) ---

    async def set_price(self, symbol: str, price: Any, *, available_quantity: Any = None) -> PriceSet:
        return await self._send(calls.set_price(symbol, price, available_quantity=available_quantity))

    async def close_session(self) -> list[str]:
        """Expire the day's DAY orders at the simulated broker; their broker order ids."""
        return await self._send(calls.close_session())

    async def set_broker_position(self, symbol: str, quantity: Any, average_entry_price: Any = None) -> None:
        await self._send(calls.set_broker_position(symbol, quantity, average_entry_price))

    async def cancel_at_broker(self, broker_order_id: str) -> None:
        await self._send(calls.cancel_at_broker(broker_order_id))

    async def lose_events(self, count: int = 1) -> None:
        await self._send(calls.lose_events(count))
