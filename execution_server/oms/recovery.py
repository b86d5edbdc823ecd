"""Settling what is uncertain: open orders at start-up, and submissions whose outcome is unknown.

Both ask the broker by client order id, which is why the OMS sends it with every order.
"""

from __future__ import annotations

import asyncio
import logging

from execution_server.backoff import Backoff
from execution_server.brokers.base import BrokerClient, BrokerError
from execution_server.domain.orders import Order, OrderStatus
from execution_server.oms.broker_events import BrokerEventApplier
from execution_server.oms.state import OpenOrders
from execution_server.store.writer import StoreUnavailable

log = logging.getLogger(__name__)


class Recovery:
    def __init__(
        self,
        *,
        broker: BrokerClient,
        open_orders: OpenOrders,
        applier: BrokerEventApplier,
        settle_attempts: int = 5,
        settle_delay_seconds: float = 0.2,
    ) -> None:
        self._broker = broker
        self._open = open_orders
        self._applier = applier
        self._attempts = settle_attempts
        self._delay = settle_delay_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    async def recover_open_orders(self) -> int:
        """Bring every locally open order to the broker's state; returns how many were looked up.
        A PENDING order the broker has never heard of was never sent (the process died before
        sending it), so it is rejected rather than sent now, long after the client asked."""
        local = self._open.all()
        if not local:
            return 0
        at_broker = {order.client_order_id: order for order in await self._broker.open_orders()}
        for order in local:
            broker_order = at_broker.get(order.client_order_id)
            if broker_order is None:
                broker_order = await self._broker.find_by_client_id(order.client_order_id)
            if broker_order is not None:
                await self._applier.adopt_broker_state(broker_order, source="recovery", adopt_unknown=False)
            elif order.status is OrderStatus.PENDING:
                await self._applier.reject_never_received(
                    order, "NOT_RECEIVED: the broker has no order with this client order id (recovered at start-up)"
                )
            else:
                log.warning("order %s is %s here but unknown at the broker", order.order_id, order.status.value)
        return len(local)

    def look_up_later(self, order: Order) -> None:
        """Look an order of unknown outcome up at the broker in the background."""
        task = asyncio.create_task(self._look_up_until_known(order), name=f"look-up-{order.order_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _look_up_until_known(self, order: Order) -> None:
        backoff = Backoff(first=self._delay, cap=5.0)
        found = False
        said_unknown = False  # the broker's last answer was "no such order" (not an error)
        for _ in range(self._attempts):
            await asyncio.sleep(backoff.next_delay())
            current = self._open.get(order.order_id)
            if current is None or not current.in_flight:
                return  # the stream settled it first
            try:
                broker_order = await self._broker.find_by_client_id(order.client_order_id)
            except BrokerError as error:
                log.info("order %s: lookup failed (%s); retrying", order.order_id, error)
                said_unknown = False
                continue
            said_unknown = broker_order is None
            if broker_order is not None:
                found = True
                try:
                    await self._applier.adopt_broker_state(broker_order, source="settlement", adopt_unknown=False)
                except StoreUnavailable as error:  # often why the order needed settling: try again
                    log.warning("order %s: settlement could not be recorded (%s); retrying", order.order_id, error)
                    continue
                return
        if found:  # at the broker, so never to be rejected here: reconciliation records it
            log.error("order %s: found at the broker but not recorded after %d attempts", order.order_id, self._attempts)
            return
        current = self._open.get(order.order_id)
        if current is None or not current.in_flight or current.status is not OrderStatus.PENDING:
            return
        if not said_unknown:
            # The broker could not be asked (an outage): the order may well be live there, so it is
            # not rejected; it stays in flight for the stream, reconciliation or the next start-up.
            log.error("order %s: the broker could not be asked about it in %d attempts; left in flight",
                      order.order_id, self._attempts)
            return
        await self._applier.reject_never_received(
            current, f"NOT_RECEIVED: the broker has no order with this client order id after {self._attempts} lookups"
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
