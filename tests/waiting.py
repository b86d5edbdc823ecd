"""Waiting for an asynchronous outcome without asserting how long it takes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], attempts: int = 500) -> T:
    """Fetch until `done` holds; fails with the last value after a generous bound (10 s)."""
    value = await fetch()
    for _ in range(attempts):
        if done(value):
            return value
        await asyncio.sleep(0.02)
        value = await fetch()
    raise AssertionError(f"condition never held; last value: {value}")
