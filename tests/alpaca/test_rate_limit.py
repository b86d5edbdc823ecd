"""The request budget on a virtual clock: nothing here waits for real."""

from __future__ import annotations

import asyncio

import pytest

from execution_server.brokers.alpaca.rate_limit import (
    Lane,
    OrderOverBudget,
    OverBudget,
    RequestBudget,
    ServerBudget,
)
from execution_server.brokers.base import BrokerRejected, BrokerUnavailable

EPOCH = 1_772_461_800.0  # the wall clock at virtual time 0


class VirtualClock:
    """Monotonic and wall time that move only when a sleeper sleeps. Sleepers that overlap
    wake at their own times, not at the sum of their sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        wake = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, wake)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def a_budget(clock: VirtualClock, per_minute: int = 200) -> RequestBudget:
    return RequestBudget(per_minute, clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep)


async def spend(budget: RequestBudget, lane: Lane, count: int) -> None:
    for _ in range(count):
        await budget.acquire(lane, max_wait=0)


async def test_the_budget_is_200_a_minute(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    await spend(budget, Lane.CANCEL, 200)  # a full bucket, all at once
    with pytest.raises(OverBudget):
        await budget.acquire(Lane.CANCEL, max_wait=0)
    clock.now += 60  # a minute refills it, no more
    await spend(budget, Lane.CANCEL, 200)
    with pytest.raises(OverBudget):
        await budget.acquire(Lane.CANCEL, max_wait=0)


async def test_a_token_comes_back_every_three_tenths_of_a_second(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    await spend(budget, Lane.CANCEL, 200)
    await budget.acquire(Lane.CANCEL, max_wait=1)
    assert clock.now == pytest.approx(0.3)


async def test_cancels_go_through_when_reads_have_spent_the_budget(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    reads = 0
    while True:
        try:
            await budget.acquire(Lane.READ, max_wait=0)
        except OverBudget:
            break
        reads += 1
    assert reads == 180  # reads leave the reserve of 20 for submits and cancels
    await spend(budget, Lane.SUBMIT, 10)  # new orders leave 10 for cancels
    with pytest.raises(OrderOverBudget):
        await budget.acquire(Lane.SUBMIT, max_wait=0)
    await spend(budget, Lane.CANCEL, 10)  # the kill switch still cancels


async def test_a_waiting_cancel_is_served_before_a_waiting_read(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    await spend(budget, Lane.CANCEL, 200)
    granted: list[Lane] = []

    async def ask(lane: Lane) -> None:
        await budget.acquire(lane, max_wait=120)
        granted.append(lane)

    await asyncio.gather(ask(Lane.READ), ask(Lane.READ), ask(Lane.CANCEL), ask(Lane.CANCEL))
    assert granted[:2] == [Lane.CANCEL, Lane.CANCEL]
    assert sorted(granted[2:], key=str) == [Lane.READ, Lane.READ]


async def test_a_new_order_over_budget_waits_its_bound_then_is_refused_saying_why(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    await spend(budget, Lane.CANCEL, 190)  # 10 left: the cancels' reserve only
    with pytest.raises(OrderOverBudget) as refused:
        await budget.acquire(Lane.SUBMIT, max_wait=0.2)  # the next token for it is 0.3 s away
    assert isinstance(refused.value, BrokerRejected)
    assert refused.value.reason.startswith("RATE_LIMITED: no request budget for this submit within 0.2 s")
    assert "200 requests a minute" in refused.value.reason and refused.value.reason.endswith("not sent")
    assert clock.now <= 0.2  # never held beyond its bound
    await budget.acquire(Lane.SUBMIT, max_wait=0.5)  # a longer bound gets it
    assert 0.2 < clock.now <= 0.5


async def test_a_429_stops_every_lane_until_alpacas_reset(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    budget.refused(ServerBudget(limit=200, remaining=0, reset_at=EPOCH + 30))
    with pytest.raises(OverBudget):
        await budget.acquire(Lane.CANCEL, max_wait=10)  # cancels too: Alpaca would answer 429
    assert clock.now == 0  # refused at once: the reset is known to be further than the bound
    await budget.acquire(Lane.CANCEL, max_wait=60)
    assert clock.now == pytest.approx(30)
    await budget.acquire(Lane.READ, max_wait=0)  # and then the bucket's own tokens again


async def test_a_429_without_a_reset_waits_as_alpaca_py_would(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    budget.refused(ServerBudget())
    await budget.acquire(Lane.CANCEL, max_wait=5)
    assert clock.now == pytest.approx(3.0)


async def test_alpacas_remaining_count_caps_ours_until_its_reset(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    budget.observe(ServerBudget(limit=200, remaining=3, reset_at=EPOCH + 20))
    with pytest.raises(OverBudget):
        await budget.acquire(Lane.READ, max_wait=0)  # reads do not eat the last few
    await spend(budget, Lane.CANCEL, 3)
    with pytest.raises(OverBudget):
        await budget.acquire(Lane.CANCEL, max_wait=0)
    clock.now = 20  # Alpaca's window is over
    await spend(budget, Lane.READ, 5)


async def test_headers_without_a_count_change_nothing(clock: VirtualClock) -> None:
    budget = a_budget(clock)
    budget.observe(ServerBudget(limit=200))
    await spend(budget, Lane.READ, 180)


def test_a_budget_smaller_than_its_reserves_is_refused() -> None:
    with pytest.raises(ValueError, match="reserves"):
        RequestBudget(20)


def test_the_server_budget_is_read_from_headers_case_blind() -> None:
    server = ServerBudget.from_headers({"x-ratelimit-limit": "200", "X-RATELIMIT-REMAINING": "7", "X-Ratelimit-Reset": "1772461867"})
    assert server == ServerBudget(200, 7, 1772461867.0)
    assert ServerBudget.from_headers({"X-Ratelimit-Remaining": "-1"}) == ServerBudget()


def test_over_budget_cancels_and_reads_are_unavailable_not_rejections() -> None:
    assert issubclass(OverBudget, BrokerUnavailable) and not issubclass(OverBudget, BrokerRejected)


async def test_without_reserves_a_waiting_cancel_still_takes_the_next_token(clock: VirtualClock) -> None:
    budget = RequestBudget(200, reserves={}, clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep)
    await spend(budget, Lane.CANCEL, 200)
    granted: list[Lane] = []

    async def ask(lane: Lane) -> None:
        await budget.acquire(lane, max_wait=120)
        granted.append(lane)

    await asyncio.gather(ask(Lane.READ), ask(Lane.CANCEL))  # the read asked first
    assert granted == [Lane.CANCEL, Lane.READ]
