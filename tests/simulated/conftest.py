"""Fixtures for the simulated broker: a started broker, and ways to read its event stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from execution_server.brokers.base import BrokerEvent
from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings

from .builders import D


@pytest.fixture
async def broker() -> AsyncIterator[SimulatedBroker]:
    # A fixed lifetime, so that tests can name the ids it hands out.
    broker = SimulatedBroker(SimulatorSettings(reference_prices={"AAPL": D(100)}), lifetime="t1")
    await broker.start()
    yield broker
    await broker.close()


async def take(stream: AsyncIterator[BrokerEvent], count: int) -> list[BrokerEvent]:
    """The next `count` events; fails rather than hangs when they do not come."""
    return [await asyncio.wait_for(anext(stream), timeout=2) for _ in range(count)]


async def assert_no_event(stream: AsyncIterator[BrokerEvent]) -> None:
    """Nothing is waiting on the stream (events are queued synchronously: no need to wait long).

    The timeout cancels the pending read, which closes that events() iterator: call it last."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), timeout=0.02)
