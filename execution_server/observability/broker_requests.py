"""The broker's requests counted and timed around the BrokerClient port, whichever adapter is
behind it (simulated or Alpaca): kind (submit, cancel, find_by_client_id, open_orders,
positions, account), outcome (ok, or the BrokerError's kind), latency.

The outcome is the error's class: a bounded set of ours (brokers/base.py), never the broker's text."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from execution_server.brokers.base import (
    BrokerClient,
    BrokerRejected,
    BrokerUnavailable,
    CancelRefused,
    SubmissionOutcomeUnknown,
)
from execution_server.observability.metrics import ServiceMetrics

T = TypeVar("T")
KINDS = ("submit", "cancel", "find_by_client_id", "open_orders", "positions", "account")
OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (BrokerRejected, "rejected"),
    (CancelRefused, "refused"),
    (BrokerUnavailable, "unavailable"),
    (SubmissionOutcomeUnknown, "unknown"),
    (TimeoutError, "timeout"),
)


def outcome_of(error: BaseException) -> str:
    for kind, name in OUTCOMES:
        if isinstance(error, kind):
            return name
    return "cancelled" if error.__class__.__name__ == "CancelledError" else "error"


class MeasuredBroker:
    """The broker, its six request methods timed; everything else is the broker's own."""

    def __init__(self, broker: BrokerClient, metrics: ServiceMetrics) -> None:
        self._broker = broker
        self._metrics = metrics
        self._durations = {kind: metrics.child(metrics.broker_duration, kind) for kind in KINDS}
        self._ok = {kind: metrics.child(metrics.broker_requests, kind, "ok") for kind in KINDS}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    async def _measured(self, kind: str, request: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            result = await request()
        except BaseException as error:
            self._metrics.child(self._metrics.broker_requests, kind, outcome_of(error)).inc()
            raise
        finally:
            self._durations[kind].observe(time.perf_counter() - started)
        self._ok[kind].inc()
        return result

    async def submit(self, order: Any) -> Any:
        return await self._measured("submit", lambda: self._broker.submit(order))

    async def cancel(self, order: Any) -> None:
        return await self._measured("cancel", lambda: self._broker.cancel(order))

    async def find_by_client_id(self, client_order_id: str) -> Any:
        return await self._measured("find_by_client_id", lambda: self._broker.find_by_client_id(client_order_id))

    async def open_orders(self) -> Any:
        return await self._measured("open_orders", self._broker.open_orders)

    async def positions(self) -> Any:
        return await self._measured("positions", self._broker.positions)

    async def account(self) -> Any:
        return await self._measured("account", self._broker.account)
