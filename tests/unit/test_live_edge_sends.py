"""Which readers take a send slot: one that is behind does, one at the live edge does not; a
live reader is still at the edge when a few commits have moved the mark past its next entry,
and stays there until it falls far behind.

Found by the bench's stalled-reader scenario: with 200 readers stalled on their clients holding
and queueing for the slots, a live reader a commit or two behind the mark queued behind them,
and its updates arrived seconds late."""

from __future__ import annotations

import asyncio
from typing import Any

from execution.v1 import execution_pb2 as pb
from execution_server.api.send_slots import JOIN_LIVE_EDGE_ENTRIES, LEAVE_LIVE_EDGE_ENTRIES, LiveEdge
from execution_server.api.servicer import ExecutionServicer
from execution_server.events.fanout import Fanout
from tests.events.fanout_kit import InMemoryLog, Writer, take

NEVER = 3600.0  # no send is ever taken back as stalled


def _servicer(fanout: Fanout) -> ExecutionServicer:
    servicer = ExecutionServicer(None, None, None, fanout, None, catch_up_send_slots=1)  # type: ignore[arg-type]
    servicer._slots._stall_seconds = NEVER
    return servicer


async def _next_payloads(servicer: ExecutionServicer, after: int, count: int) -> list[bytes]:
    messages = servicer.StreamOrderUpdates(pb.StreamOrderUpdatesRequest(after_sequence=after), None)  # type: ignore[arg-type]
    try:
        return await take(messages, count)  # type: ignore[arg-type]
    finally:
        await messages.aclose()


async def test_a_live_reader_a_few_commits_behind_sends_while_every_slot_is_held() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=4096)
    writer = Writer(log, fanout)
    writer.write(10)
    servicer = _servicer(fanout)
    assert servicer._slots.take() is not None  # the only slot, held for good (a stalled send)
    writer.write(3)  # the reader's next entries (11, 12, 13) are now behind the mark (13)

    received = await _next_payloads(servicer, after=10, count=3)

    assert received == [entry.payload for entry in log.entries[10:13]]


async def test_a_reader_further_behind_waits_for_the_slot_and_gets_it_when_given_back() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=4096)
    writer = Writer(log, fanout)
    writer.write(JOIN_LIVE_EDGE_ENTRIES + 10)
    servicer = _servicer(fanout)
    held = servicer._slots.take()
    assert held is not None

    reading: asyncio.Task[Any] = asyncio.ensure_future(_next_payloads(servicer, after=0, count=2))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not reading.done()  # behind by more than the edge: it queues for the slot
    servicer._slots.give(held)

    assert await reading == [entry.payload for entry in log.entries[:2]]


def test_a_reader_joins_the_edge_near_the_mark_and_leaves_it_only_far_behind() -> None:
    edge, mark = LiveEdge(), 100_000
    assert not edge.at(mark - JOIN_LIVE_EDGE_ENTRIES - 1, mark)  # catching up
    assert edge.at(mark - JOIN_LIVE_EDGE_ENTRIES, mark)  # reached it
    assert edge.at(mark - LEAVE_LIVE_EDGE_ENTRIES, mark)  # fell behind, but not far: still live
    assert not edge.at(mark - LEAVE_LIVE_EDGE_ENTRIES - 1, mark)  # far behind: catching up again
    assert not edge.at(mark - JOIN_LIVE_EDGE_ENTRIES - 1, mark)
    assert edge.at(mark, mark)
