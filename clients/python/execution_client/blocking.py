"""BlockingExecutionClient: ExecutionClient's methods, synchronous (grpc's blocking API), for
scripts, notebooks and threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
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


class BlockingExecutionClient:
    """A blocking client of one execution server; the arguments are ExecutionClient's. Use
    `with`, or `close()` (from any thread: an order stream being read then ends)."""

    def __init__(
        self, address: str = "127.0.0.1:50051", *, token: str | None = None, tls: bool = False,
        ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None,
        server_name: str | None = None, timeout: float | None = 10.0, stream_backoff: tuple[float, float] = (0.1, 5.0),
    ) -> None:
        self._connection = Connection(address, token, tls, ca_file, cert_file, key_file, server_name)
        self._timeout = timeout
        self._stream_backoff = stream_backoff
        self._channel = self._connection.blocking_channel()
        self._stubs: dict[str, Any] = {
            "execution": execution_pb2_grpc.ExecutionServiceStub(self._channel),
            "risk": risk_pb2_grpc.RiskServiceStub(self._channel),
            "simulator": simulator_pb2_grpc.SimulatorServiceStub(self._channel),
        }
        self._closed = threading.Event()

    def __enter__(self) -> BlockingExecutionClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        self._channel.close()

    def _send(self, call: calls.Unary[T]) -> T:
        if self._closed.is_set():
            raise RuntimeError("the client is closed")
        method = getattr(self._stubs[call.service], call.method)
        try:
            response = method(call.request, timeout=self._timeout, metadata=self._connection.metadata)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None
        return call.decode(response)

    # --- orders ---

    def place_order(
        self, *, symbol: str, side: Any, quantity: Any, strategy_id: str, order_type: Any = "MARKET",
        limit_price: Any = None, stop_price: Any = None, time_in_force: Any = "DAY", client_order_id: str | None = None,
    ) -> Order:
        return self._send(calls.place_order(
            symbol=symbol, side=side, quantity=quantity, strategy_id=strategy_id, order_type=order_type,
            limit_price=limit_price, stop_price=stop_price, time_in_force=time_in_force,
            client_order_id=client_order_id))

    def cancel_order(self, order_id: str | None = None, *, client_order_id: str | None = None) -> Order:
        return self._send(calls.cancel_order(order_id, client_order_id=client_order_id))

    def get_order(self, order_id: str | None = None, *, client_order_id: str | None = None) -> Order:
        return self._send(calls.get_order(order_id, client_order_id=client_order_id))

    def list_orders(
        self, *, strategy_id: str | None = None, symbol: str | None = None, status: Any = None,
        page_size: int | None = None,
    ) -> Iterator[Order]:
        token = ""
        while True:
            page = calls.list_orders_page(
                strategy_id=strategy_id, symbol=symbol, status=status, page_size=page_size, page_token=token
            )
            orders, token = self._send(page)
            yield from orders
            if not token:
                return

    def get_positions(self, strategy_id: str | None = None) -> list[Position]:
        return self._send(calls.get_positions(strategy_id))

    def reconcile(self, *, repair: bool = False) -> ReconcileResult:
        return self._send(calls.reconcile(repair=repair))

    def list_reconcile_runs(self, limit: int | None = None) -> list[ReconcileResult]:
        return self._send(calls.list_reconcile_runs(limit))

    def get_account(self) -> Account:
        return self._send(calls.get_account())

    def stream_order_updates(
        self, *, strategy_id: str | None = None, symbol: str | None = None, from_sequence: int = 0
    ) -> Iterator[OrderUpdate]:
        """As ExecutionClient.stream_order_updates: resumes by itself, no gap, no duplicate."""
        resume = ResumePoint(calls.sequence_start(from_sequence))
        backoff = Backoff(*self._stream_backoff)
        stub = self._stubs["execution"]
        while not self._closed.is_set():
            request = calls.stream_request(strategy_id=strategy_id, symbol=symbol, after_sequence=resume.after_sequence)
            call = stub.StreamOrderUpdates(request, metadata=self._connection.metadata)
            try:
                for message in call:
                    backoff.reset()
                    if resume.admit(message.sequence):
                        yield convert.update_of(message)
            except grpc.RpcError as error:
                if self._closed.is_set():
                    return
                if not is_retryable(error.code()):
                    raise error_from_rpc(error) from None
            except ValueError:
                # grpc's blocking channel refuses new calls once closed ("Cannot invoke RPC on
                # closed channel!"), which is how close() from another thread can surface here.
                if self._closed.is_set():
                    return
                raise
            finally:
                call.cancel()
            self._closed.wait(backoff.next_delay())

    # --- risk ---

    def get_risk_status(self) -> RiskStatus:
        return self._send(calls.get_risk_status())

    def set_kill_switch(self, enabled: bool, *, reason: str = "", cancel_open_orders: bool = False,
                        reduce_only: bool = False) -> KillSwitchResult:
        return self._send(calls.set_kill_switch(
            enabled, reason=reason, cancel_open_orders=cancel_open_orders, reduce_only=reduce_only))

    def get_risk_limits(self, strategy_id: str | None = None) -> RiskLimits:
        return self._send(calls.get_risk_limits(strategy_id))

    def list_operator_actions(self, limit: int | None = None, *, before_id: int | None = None) -> list[OperatorAction]:
        return self._send(calls.list_operator_actions(limit, before_id=before_id))

    # --- the simulated broker (served only with it) ---

    def set_price(self, symbol: str, price: Any, *, available_quantity: Any = None) -> PriceSet:
        return self._send(calls.set_price(symbol, price, available_quantity=available_quantity))

    def close_session(self) -> list[str]:
        return self._send(calls.close_session())

    def set_broker_position(self, symbol: str, quantity: Any, average_entry_price: Any = None) -> None:
        self._send(calls.set_broker_position(symbol, quantity, average_entry_price))

    def cancel_at_broker(self, broker_order_id: str) -> None:
        self._send(calls.cancel_at_broker(broker_order_id))

    def lose_events(self, count: int = 1) -> None:
        self._send(calls.lose_events(count))
