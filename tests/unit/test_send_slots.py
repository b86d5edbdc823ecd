"""SendSlots: never more holders than slots, except that a send stalled on its client gives its
slot up; a slot given back goes to the first in the queue; a reader that goes away while
queued, or just as it is handed a slot, loses none. With a pace: while orders flow the gate is
shut for part of each period, on a quiet service never, and no reader is starved or loses a slot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.api.catch_up_pace import Pace
from execution_server.api.send_slots import SendSlots

NEVER = 3600.0  # a stall bound no test reaches: sends are never taken for stalled


async def _holder(slots: SendSlots, name: str, order: list[str], release: asyncio.Event) -> None:
    hold = slots.take()
    if hold is None:
        hold = await slots.wait()
    order.append(name)
    try:
        await release.wait()
    finally:
        slots.give(hold)


async def test_a_free_slot_is_taken_without_waiting() -> None:
    slots = SendSlots(2, NEVER)
    first, second = slots.take(), slots.take()
    assert first is not None and second is not None
    assert slots.take() is None
    slots.give(first)
    assert slots.free == 1 and slots.take() is not None


async def test_slots_given_back_go_to_the_queue_first_come_first_served() -> None:
    slots, order, release = SendSlots(1, NEVER), [], asyncio.Event()
    first = asyncio.ensure_future(_holder(slots, "first", order, release))
    await asyncio.sleep(0)
    queued = [asyncio.ensure_future(_holder(slots, name, order, release)) for name in ("a", "b", "c")]
    await asyncio.sleep(0)
    assert order == ["first"]
    assert slots.take() is None  # someone is queued: no jumping the queue
    release.set()
    await asyncio.gather(first, *queued)
    assert order == ["first", "a", "b", "c"] and slots.free == 1


async def test_a_reader_that_goes_away_while_queued_takes_no_slot_with_it() -> None:
    slots, order, release = SendSlots(1, NEVER), [], asyncio.Event()
    holder = asyncio.ensure_future(_holder(slots, "holder", order, release))
    await asyncio.sleep(0)
    leaver = asyncio.ensure_future(_holder(slots, "leaver", order, release))
    after = asyncio.ensure_future(_holder(slots, "after", order, release))
    await asyncio.sleep(0)
    leaver.cancel()
    release.set()
    await asyncio.gather(holder, after, leaver, return_exceptions=True)
    assert order == ["holder", "after"] and slots.free == 1


async def test_a_reader_that_goes_away_as_it_is_handed_a_slot_passes_it_on() -> None:
    slots = SendSlots(1, NEVER)
    hold = slots.take()
    assert hold is not None
    leaver = asyncio.ensure_future(slots.wait())
    await asyncio.sleep(0)
    slots.give(hold)  # handed to the leaver, which has not run yet
    leaver.cancel()  # and goes away before it does
    with pytest.raises(asyncio.CancelledError):
        await leaver
    assert slots.free == 1


async def test_a_send_stalled_on_its_client_gives_its_slot_to_the_next_in_line() -> None:
    """The holder never gives its slot back (its send is blocked): after the stall bound the
    queued reader gets it; the late give of the stalled holder then frees nothing twice."""
    slots = SendSlots(1, stall_seconds=0.01)
    stalled = slots.take()
    assert stalled is not None
    async with asyncio.timeout(10):  # only turns a hang into a failure
        next_in_line = await slots.wait()
    slots.give(stalled)  # its send completed at last
    assert slots.free == 0  # the slot is next_in_line's, not free twice
    slots.give(next_in_line)
    assert slots.free == 1


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError, match="slots"):
        SendSlots(0)


class _Holders:
    """Readers that take turns for slots: how many hold one now, the most at once, the sends."""

    def __init__(self, gate: SendSlots) -> None:
        self.gate, self.now, self.most, self.sent = gate, 0, 0, 0

    async def send(self, turns: int) -> None:
        """One send: a slot taken (queueing if need be), held `turns` turns of the loop, given back."""
        hold = self.gate.take()
        if hold is None:
            hold = await self.gate.wait()
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            for _ in range(turns):
                await asyncio.sleep(0)
            self.sent += 1
        finally:
            self.now -= 1
            self.gate.give(hold)

    async def run(self, readers: list[tuple[Awaitable[None], bool]]) -> list[BaseException | None]:
        """Every reader started, those marked leaving cancelled at once (while queued, most)."""
        tasks = [asyncio.ensure_future(reader) for reader, _ in readers]
        await asyncio.sleep(0)
        for task, (_, leaves) in zip(tasks, readers, strict=True):
            if leaves:
                task.cancel()
        async with asyncio.timeout(30):  # only turns a starved reader into a failure
            return await asyncio.gather(*tasks, return_exceptions=True)


@settings(max_examples=60, deadline=None)
@given(
    slots=st.integers(1, 4),
    readers=st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=12),
)
def test_never_more_holders_than_slots_and_every_slot_comes_back(slots: int, readers: list[tuple[int, bool]]) -> None:
    """Readers hold a slot for a few turns of the loop; some go away while queued."""

    async def scenario() -> None:
        holders = _Holders(SendSlots(slots, NEVER))
        await holders.run([(holders.send(turns), leaves) for turns, leaves in readers])
        assert holders.most <= slots
        assert holders.gate.free == slots

    asyncio.run(scenario())


class _Commits:
    """The pace's activity: a count that moves when `live` (an order committed at every look)."""

    def __init__(self, live: bool) -> None:
        self.live, self.count = live, 0

    def __call__(self) -> int:
        self.count += self.live
        return self.count


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):  # only turns a hang into a failure
        while not condition():
            await asyncio.sleep(0.001)


async def test_while_orders_flow_the_pace_shuts_the_gate_even_with_free_slots() -> None:
    # A long shut phase (0.495 s of each 0.5 s) so that the checks below run inside it.
    slots = SendSlots(2, NEVER, pace=Pace(0.01, period=0.5), activity=_Commits(live=True))
    hold = slots.take()
    assert hold is not None and slots.pacing
    slots.give(hold)
    await _until(lambda: not slots.open)
    assert slots.take() is None and slots.free == 2
    queued = asyncio.ensure_future(slots.wait())
    await asyncio.sleep(0)
    assert not queued.done()  # nothing is handed out while shut
    slots.give(await queued)  # the next open phase hands it a slot
    assert slots.free == 2


async def test_on_a_quiet_service_the_gate_never_shuts() -> None:
    slots = SendSlots(1, NEVER, pace=Pace(0.01, period=0.001), activity=_Commits(live=False))
    loop = asyncio.get_running_loop()
    until = loop.time() + 0.05  # some fifty looks of the pace
    while loop.time() < until:
        hold = slots.take()
        assert hold is not None and slots.open
        slots.give(hold)
        await asyncio.sleep(0.0005)


async def test_the_pace_stops_once_no_one_is_behind() -> None:
    slots = SendSlots(1, NEVER, pace=Pace(0.5, period=0.001), activity=_Commits(live=True))
    hold = slots.take()
    assert hold is not None
    slots.give(hold)
    await _until(lambda: not slots.pacing)
    assert slots.open  # and the gate is left open for whoever comes next


def test_a_share_of_the_whole_loop_keeps_no_pace() -> None:
    async def scenario() -> None:
        slots = SendSlots(1, NEVER, pace=Pace(1.0), activity=_Commits(live=True))
        hold = slots.take()
        assert hold is not None and not slots.pacing

    asyncio.run(scenario())


@settings(max_examples=30, deadline=None)
@given(
    slots=st.integers(1, 4),
    share=st.sampled_from([0.05, 0.3, 0.9]),
    readers=st.lists(st.tuples(st.integers(1, 40), st.booleans()), min_size=1, max_size=8),
)
def test_paced_readers_all_finish_and_every_slot_comes_back(
    slots: int, share: float, readers: list[tuple[int, bool]]
) -> None:
    """Readers that are behind send a few messages each while orders flow; some go away while
    queued. Pacing delays them, never loses one or a slot, and never exceeds the slots."""

    async def scenario() -> None:
        holders = _Holders(SendSlots(slots, NEVER, pace=Pace(share, period=0.002), activity=_Commits(live=True)))

        async def reader(messages: int) -> None:
            for _ in range(messages):
                await holders.send(turns=1)

        results = await holders.run([(reader(messages), leaves) for messages, leaves in readers])
        stayed = [messages for (messages, _), result in zip(readers, results, strict=True) if result is None]
        assert holders.sent >= sum(stayed)
        assert holders.most <= slots
        assert holders.gate.free == slots

    asyncio.run(scenario())
