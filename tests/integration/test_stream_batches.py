"""StreamOrderUpdateBatches through gRPC: the same updates as StreamOrderUpdates, several per
message; resume at any point, even inside a message; filters; retention; shutdown; limits.

Every test runs the real Application on a loopback port with a real database, and every
message read is checked to be non-empty, ascending and within its max_updates.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution_server.config import StreamConfig, replace
from execution_server.store import repository
from tests.harness import Client, running, settings_for
from tests.integration.test_stream import (
    EACH_FILTER,
    HANG_GUARD_SECONDS,
    MIXED_ORDERS,
    SLOW_CLIENT_OPTIONS,
    UPDATES_PER_MARKET_ORDER,
    WINDOW,
    Update,
    matches,
    oldest_available_in,
    place_market_orders,
    place_mixed_orders,
    sequences,
    small_window,
    stream,
    stream_error,
    subscriber_count,
    take,
)
from tests.waiting import eventually

Batch = pb.StreamOrderUpdateBatchesResponse
DEFAULT_MAX_UPDATES = 500


def batch_stream(client: Client, after: int = 0, max_updates: int = 0, **filters: str) -> grpc.aio.UnaryStreamCall:
    request = pb.StreamOrderUpdateBatchesRequest(after_sequence=after, max_updates=max_updates, **filters)
    return client.execution.StreamOrderUpdateBatches(request)


def check_message(message: Batch, max_updates: int, previous: int) -> int:
    """A message is never empty, never above its limit, and continues the ascending sequence."""
    got = sequences(message.updates)
    assert 0 < len(got) <= (max_updates or DEFAULT_MAX_UPDATES), got
    assert got == sorted(set(got)) and got[0] > previous, (previous, got)
    return got[-1]


async def take_messages(call: grpc.aio.UnaryStreamCall, count: int, max_updates: int = 0) -> list[Batch]:
    """Messages until they hold at least `count` updates; the call stays open."""
    messages: list[Batch] = []
    last = 0
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while sum(len(m.updates) for m in messages) < count:
            message = await call.read()
            assert message is not grpc.aio.EOF, f"the stream ended after {len(messages)} messages"
            last = check_message(message, max_updates, last)
            messages.append(message)
    return messages


def updates_in(messages: Sequence[Batch]) -> list[Update]:
    return [update for message in messages for update in message.updates]


async def take_updates(call: grpc.aio.UnaryStreamCall, count: int, max_updates: int = 0) -> list[Update]:
    """The first `count` updates, cutting the last message if `count` falls inside it."""
    return updates_in(await take_messages(call, count, max_updates))[:count]


async def all_updates(client: Client) -> list[Update]:
    """Every update committed so far, from the per-update stream: what the batches must equal."""
    return await take(stream(client), client.app.fanout.high_water_mark)


async def settled(client: Client, sequence: int) -> None:
    """Wait until `sequence` is published (a market order's fill arrives after PlaceOrder returns)."""
    await eventually(lambda: _mark(client), lambda mark: mark >= sequence)


async def _mark(client: Client) -> int:
    return client.app.fanout.high_water_mark


# --- the same updates ---


@pytest.mark.parametrize("max_updates", [0, 1, 7, 10_000])
async def test_the_batch_stream_delivers_exactly_the_updates_of_the_per_update_stream(
    database_url: str, tmp_path: Path, max_updates: int
) -> None:
    """From the log, the window and live: every field of every update is the same."""
    async with running(small_window(database_url, tmp_path)) as client:
        await place_market_orders(client, 20)
        batches = batch_stream(client, 0, max_updates)
        singles = stream(client, 0)
        await place_market_orders(client, 20, strategy_id="later", symbol="MSFT")
        await settled(client, 40 * UPDATES_PER_MARKET_ORDER)
        batched = updates_in(await take_messages(batches, 40 * UPDATES_PER_MARKET_ORDER, max_updates))
        one_by_one = await take(singles, 40 * UPDATES_PER_MARKET_ORDER)
        batches.cancel()
        singles.cancel()

    assert sequences(one_by_one) == list(range(1, 40 * UPDATES_PER_MARKET_ORDER + 1))
    assert batched == one_by_one


async def test_max_updates_one_gives_one_update_per_message(database_url: str, tmp_path: Path) -> None:
    async with running(small_window(database_url, tmp_path)) as client:
        await place_market_orders(client, 10)
        await settled(client, 10 * UPDATES_PER_MARKET_ORDER)
        messages = await take_messages(batch_stream(client, 0, max_updates=1), 10 * UPDATES_PER_MARKET_ORDER, 1)
        expected = await all_updates(client)

    assert [len(message.updates) for message in messages] == [1] * len(expected)
    assert updates_in(messages) == expected


async def test_a_subscriber_that_starts_behind_gets_its_backlog_in_one_message(client: Client) -> None:
    """The adaptive part: everything ready when a message is sent goes into it (here the whole
    backlog, which the window holds, below the default limit)."""
    await place_market_orders(client, 20)
    await settled(client, 20 * UPDATES_PER_MARKET_ORDER)

    call = batch_stream(client)
    [message] = await take_messages(call, 20 * UPDATES_PER_MARKET_ORDER)
    call.cancel()

    assert message.updates[:] == await all_updates(client)


# --- resume ---

RESUME_POINTS = 200  # k = 0 .. 200: every resume point of a run of more than 200 updates
LIMITS = (0, 1, 5, 64)  # max_updates, varied with k so that cuts fall inside messages of every size


async def test_resuming_after_any_number_of_updates_even_inside_a_message_misses_none_and_repeats_none(
    database_url: str, tmp_path: Path
) -> None:
    """For every k: take the first k updates (cutting a message when k falls inside it),
    reconnect after the k-th, and read the rest. The backlog starts beyond the window and
    shrinks as k grows, so resumes replay from the log, then from the window; on every sixth
    k, and whenever the live edge gets close, the resumed stream also waits for a live order."""
    async with running(small_window(database_url, tmp_path)) as client:
        await place_market_orders(client, 20)  # 60 updates, far beyond the window of 16
        await settled(client, 20 * UPDATES_PER_MARKET_ORDER)
        sides = itertools.cycle((pb.SIDE_BUY, pb.SIDE_SELL))
        seen_by_resume_point: dict[int, list[Update]] = {}
        cuts_inside_a_message, backlogs = 0, []
        for k in range(RESUME_POINTS + 1):
            limit = LIMITS[k % len(LIMITS)]
            before = batch_stream(client, 0, limit)
            taken = updates_in(await take_messages(before, k, limit))
            before.cancel()
            first = taken[:k]
            cuts_inside_a_message += len(taken) > k
            resume_after = first[-1].sequence if first else 0
            after = batch_stream(client, resume_after, limit)
            backlog = client.app.fanout.high_water_mark - resume_after
            backlogs.append(backlog)
            rest = updates_in(await take_messages(after, backlog, limit))
            if k % 6 == 0 or backlog < 4:
                await client.place(side=next(sides))
                rest += updates_in(await take_messages(after, UPDATES_PER_MARKET_ORDER, limit))
            after.cancel()
            seen_by_resume_point[k] = first + rest
        whole = await all_updates(client)

    assert len(whole) > RESUME_POINTS
    assert sequences(whole) == list(range(1, len(whole) + 1))
    for k, seen in seen_by_resume_point.items():
        assert sequences(seen) == sequences(whole[: len(seen)]), f"resumed after {k} updates"
        assert seen == whole[: len(seen)], f"resumed after {k} updates"
    # It covered the seams: cuts inside messages, resumes replaying from the log and the window.
    assert cuts_inside_a_message > RESUME_POINTS // 2
    assert any(backlog > WINDOW for backlog in backlogs)
    assert any(0 < backlog <= WINDOW for backlog in backlogs)


# --- filters ---


@EACH_FILTER
async def test_a_filtered_batch_stream_delivers_exactly_the_matching_updates_in_order(
    database_url: str, tmp_path: Path, filters: dict[str, str]
) -> None:
    async with running(small_window(database_url, tmp_path, window_size=4)) as client:
        await place_mixed_orders(client)
        everything = await take(stream(client), len(MIXED_ORDERS) * UPDATES_PER_MARKET_ORDER)
        expected = [update for update in everything if matches(update, **filters)]
        filtered = batch_stream(client, 0, max_updates=2, **filters)
        replayed = await take_updates(filtered, len(expected), 2)
        # Then live: a non-matching order, a matching one; only the second may come next.
        await client.place(strategy_id="gamma", symbol="NVDA")
        sentinel = await client.place(strategy_id="alpha", symbol="MSFT")
        [message] = await take_messages(filtered, 1, 2)
        filtered.cancel()

    assert 0 < len(expected) < len(everything)
    assert replayed == expected
    first = message.updates[0]
    assert (first.order.order_id, first.event_type) == (sentinel.order_id, "placed")


# --- retention ---


async def test_resuming_before_the_oldest_retained_update_is_out_of_range_naming_the_oldest(
    database_url: str, tmp_path: Path
) -> None:
    async with running(small_window(database_url, tmp_path)) as client:
        await place_market_orders(client, 20)
        await take(stream(client), 20 * UPDATES_PER_MARKET_ORDER)
        async with client.app.engine.begin() as conn:
            await repository.trim_events(conn, 10)
        delivered, error = await stream_error(batch_stream(client, 5))
        resumed = await take_messages(batch_stream(client, 10), 1)

    assert delivered == []
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert oldest_available_in(error) == "oldest available sequence is 11"
    assert resumed[0].updates[0].sequence == 11


async def test_a_stalled_reader_whose_updates_retention_deleted_gets_out_of_range(
    database_url: str, tmp_path: Path
) -> None:
    """One update per message here, so that what the stalled reader has buffered stays well
    below the sequences retention deletes, as in the per-update stream's test."""
    async with running(small_window(database_url, tmp_path)) as client:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{client.app.port}", options=SLOW_CLIENT_OPTIONS) as slow:
            stalled = execution_pb2_grpc.ExecutionServiceStub(slow).StreamOrderUpdateBatches(
                pb.StreamOrderUpdateBatchesRequest(max_updates=1)
            )
            await client.place()
            first = await take_messages(stalled, 1, 1)
            await place_market_orders(client, 150)
            keep_after = 100
            async with client.app.engine.begin() as conn:
                await repository.trim_events(conn, keep_after)
            delivered, error = await stream_error(stalled)

    got = sequences(updates_in([*first, *delivered]))
    assert got == list(range(1, len(got) + 1)) and got[-1] < keep_after
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert oldest_available_in(error) == f"oldest available sequence is {keep_after + 1}"


# --- lifecycle and limits ---


async def test_server_shutdown_ends_open_batch_streams_with_unavailable(database_url: str, tmp_path: Path) -> None:
    """Idle streams and one the client stopped reading; they end because the service closes
    them, not because the grace period runs out (it is longer than the test waits)."""
    settings = settings_for(
        database_url, tmp_path, grace_seconds=2 * HANG_GUARD_SECONDS, stream=StreamConfig(window_size=WINDOW)
    )
    async with running(settings) as client:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{client.app.port}", options=SLOW_CLIENT_OPTIONS) as slow:
            stalled = execution_pb2_grpc.ExecutionServiceStub(slow).StreamOrderUpdateBatches(
                pb.StreamOrderUpdateBatchesRequest(max_updates=1)
            )
            await client.place()
            await take_messages(stalled, 1, 1)
            idle = [batch_stream(client, 10**9) for _ in range(3)]
            await place_market_orders(client, 100)
            await eventually(lambda: subscriber_count(client), lambda n: n == 4)
            stopping = asyncio.create_task(client.app.stop())
            outcomes = await asyncio.gather(*(stream_error(call) for call in [stalled, *idle]))
            await stopping

    assert [error.code() for _, error in outcomes] == [grpc.StatusCode.UNAVAILABLE] * 4


async def test_cancelling_a_batch_stream_frees_its_subscription(client: Client) -> None:
    calls = [batch_stream(client, 10**9) for _ in range(3)]
    await eventually(lambda: subscriber_count(client), lambda n: n == 3)

    for call in calls:
        call.cancel()

    await eventually(lambda: subscriber_count(client), lambda n: n == 0)


@pytest.mark.parametrize("max_updates", [10_001, 2**32 - 1])
async def test_too_many_updates_per_message_is_an_invalid_argument_naming_max_updates(
    client: Client, max_updates: int
) -> None:
    _, error = await stream_error(batch_stream(client, max_updates=max_updates))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [violation.field for violation in bad_request.field_violations] == ["max_updates"]
    assert client.app.fanout.subscriber_count == 0


async def test_batch_readers_that_are_behind_take_turns_and_each_still_gets_every_update(
    database_url: str, tmp_path: Path
) -> None:
    """As for StreamOrderUpdates: one send slot for every batch reader that is behind, small
    messages so that each reader needs many, and orders arriving meanwhile."""
    settings = small_window(database_url, tmp_path)
    settings = replace(settings, stream=dataclasses.replace(settings.stream, catch_up_send_slots=1))
    total = 40 * UPDATES_PER_MARKET_ORDER
    async with running(settings) as client:
        await place_market_orders(client, 30)
        readers = [batch_stream(client, 0, max_updates=2) for _ in range(4)]
        more = asyncio.ensure_future(place_market_orders(client, 10, strategy_id="later"))
        received = await asyncio.gather(*(take_updates(reader, total, max_updates=2) for reader in readers))
        await more
        for reader in readers:
            reader.cancel()

    for updates in received:
        assert sequences(updates) == list(range(1, total + 1))
