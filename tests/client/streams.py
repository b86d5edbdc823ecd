"""Reading an order stream in the background while a test trades, and what a complete stream
must look like."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from execution_client import ExecutionClient, OrderUpdate, Unavailable

TERMINAL = ("FILLED", "CANCELLED", "REJECTED")


class StreamReader:
    """Every update `stream_order_updates` delivers, collected by a task of its own."""

    def __init__(self, client: ExecutionClient, **filters: str) -> None:
        self.updates: list[OrderUpdate] = []
        self._task = asyncio.ensure_future(self._read(client, filters))

    async def _read(self, client: ExecutionClient, filters: dict[str, str]) -> None:
        async for update in client.stream_order_updates(**filters):
            self.updates.append(update)

    def settled(self, client_order_ids: list[str]) -> bool:
        done = {u.order.client_order_id for u in self.updates if u.order is not None and u.order.status in TERMINAL}
        return set(client_order_ids) <= done

    async def until_settled(self, client_order_ids: list[str], attempts: int = 3000) -> None:
        """Until each order's final update arrived (bounded at about a minute, never timed)."""
        for _ in range(attempts):
            if self._task.done():
                self._task.result()  # the stream ended: raise what ended it
                raise AssertionError("the stream ended by itself")
            if self.settled(client_order_ids):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"not every order settled on the stream: {client_order_ids}; got {len(self.updates)} updates")

    async def ended(self) -> None:
        """Until the stream ends by itself (bounded, so a hang fails); raises what ended it."""
        await asyncio.wait_for(asyncio.shield(self._task), 60)

    async def stop(self) -> list[OrderUpdate]:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return self.updates


async def place_retrying(client: ExecutionClient, client_order_id: str, quantity: int = 1) -> None:
    """Place a market order, sending it again (same client order id, so never twice) while the
    service is unreachable."""
    for _ in range(600):
        try:
            await client.place_order(symbol="AAPL", side="BUY", quantity=Decimal(quantity), strategy_id="momentum_v1",
                                     client_order_id=client_order_id)
            return
        except Unavailable:
            await asyncio.sleep(0.05)
    raise AssertionError(f"{client_order_id} could not be placed")


async def replay(address: str, through: int) -> list[OrderUpdate]:
    """What a fresh, never interrupted stream from the start delivers up to sequence `through`."""
    updates: list[OrderUpdate] = []
    async with ExecutionClient(address) as client:
        async for update in client.stream_order_updates():
            updates.append(update)
            if update.sequence >= through:
                return updates
    raise AssertionError("the replay ended early")


def assert_complete(delivered: list[OrderUpdate], replayed: list[OrderUpdate], client_order_ids: list[str]) -> None:
    """No gap, no duplicate: exactly what an uninterrupted stream sends, in the same order."""
    sequences = [u.sequence for u in delivered]
    assert len(sequences) == len(set(sequences)), "an update was delivered twice"
    # On a fresh database whose writes never failed, the service numbers its updates 1, 2, 3...
    assert sequences == list(range(1, len(sequences) + 1)), f"a gap in {sequences}"
    assert [(u.sequence, u.event_type, u.order) for u in delivered] == [
        (u.sequence, u.event_type, u.order) for u in replayed
    ]
    for client_order_id in client_order_ids:
        events = [u.event_type for u in delivered if u.order is not None and u.order.client_order_id == client_order_id]
        assert events and events[0] == "placed", f"{client_order_id}: {events}"
