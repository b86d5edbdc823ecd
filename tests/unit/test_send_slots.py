"""SendSlots: never more holders than slots; a slot given back goes to the first in the queue;
a reader that goes away while queued, or just as it is handed a slot, loses none."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.api.send_slots import SendSlots


async def _holder(slots: SendSlots, name: str, order: list[str], release: asyncio.Event) -> None:
    if not slots.take():
        await slots.wait()
    order.append(name)
    try:
        await release.wait()
    finally:
        slots.give()


async def test_a_free_slot_is_taken_without_waiting() -> None:
    slots = SendSlots(2)
    assert slots.take() and slots.take()
    assert not slots.take()
    slots.give()
    assert slots.free == 1 and slots.take()


async def test_slots_given_back_go_to_the_queue_first_come_first_served() -> None:
    slots, order, release = SendSlots(1), [], asyncio.Event()
    first = asyncio.ensure_future(_holder(slots, "first", order, release))
    await asyncio.sleep(0)
    queued = [asyncio.ensure_future(_holder(slots, name, order, release)) for name in ("a", "b", "c")]
    await asyncio.sleep(0)
    assert order == ["first"]
    assert not slots.take()  # someone is queued: no jumping the queue, even when a slot frees
    release.set()
    await asyncio.gather(first, *queued)
    assert order == ["first", "a", "b", "c"] and slots.free == 1


async def test_a_reader_that_goes_away_while_queued_takes_no_slot_with_it() -> None:
    slots, order, release = SendSlots(1), [], asyncio.Event()
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
    slots = SendSlots(1)
    assert slots.take()
    leaver = asyncio.ensure_future(slots.wait())
    await asyncio.sleep(0)
    slots.give()  # handed to the leaver, which has not run yet
    leaver.cancel()  # and goes away before it does
    with pytest.raises(asyncio.CancelledError):
        await leaver
    assert slots.free == 1


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError, match="slots"):
        SendSlots(0)


@settings(max_examples=60, deadline=None)
@given(
    slots=st.integers(1, 4),
    readers=st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=12),
)
def test_never_more_holders_than_slots_and_every_slot_comes_back(slots: int, readers: list[tuple[int, bool]]) -> None:
    """Readers hold a slot for a few turns of the loop; some go away while queued."""

    async def scenario() -> None:
        gate, holding, most = SendSlots(slots), [0], [0]

        async def reader(turns: int) -> None:
            if not gate.take():
                await gate.wait()
            holding[0] += 1
            most[0] = max(most[0], holding[0])
            try:
                for _ in range(turns):
                    await asyncio.sleep(0)
            finally:
                holding[0] -= 1
                gate.give()

        tasks = [asyncio.ensure_future(reader(turns)) for turns, _ in readers]
        await asyncio.sleep(0)
        for task, (_, leaves) in zip(tasks, readers, strict=True):
            if leaves:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert most[0] <= slots
        assert gate.free == slots

    asyncio.run(scenario())
