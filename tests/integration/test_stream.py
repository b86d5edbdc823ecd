"""StreamOrderUpdates through gRPC: resume at any point, filters, many and slow readers,
shutdown, cancellation, restart, and what a fill update carries (issue 8).

Every test runs the real Application on a loopback port with a real database. The window is
kept small where it matters, so that the log, the window and the live edge are all crossed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution.v1 import simulator_pb2 as sim
from execution_server.api.send_slots import JOIN_LIVE_EDGE_ENTRIES
from execution_server.config import ServerLimits, Settings, StreamConfig, replace
from execution_server.store import repository
from tests.harness import Client, running, settings_for
from tests.idle_proxy import IdleDroppingProxy
from tests.waiting import eventually

HANG_GUARD_SECONDS = 30  # only turns a hang into a failure; no test asserts a duration
# A client that takes little from the transport: with these options the server's writes block
# after a few kilobytes, so a stream the client does not read really holds the server back.
SLOW_CLIENT_OPTIONS = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)]
UPDATES_PER_MARKET_ORDER = 3  # placed, submitted, fill
WINDOW = 16  # the window of most tests here: small, so that readers fall out of it

Update = pb.StreamOrderUpdatesResponse


def stream(client: Client, after: int = 0, **filters: str) -> grpc.aio.UnaryStreamCall:
    return client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest(after_sequence=after, **filters))


async def take(call: grpc.aio.UnaryStreamCall, count: int) -> list[Update]:
    """The next `count` updates of a stream; the call stays open."""
    updates: list[Update] = []
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while len(updates) < count:
            update = await call.read()
            assert update is not grpc.aio.EOF, f"the stream ended after {len(updates)} updates"
            updates.append(update)
    return updates


async def take_until(call: grpc.aio.UnaryStreamCall, done: Callable[[Update], bool]) -> list[Update]:
    """Updates up to and including the first one for which `done(update)` holds."""
    updates: list[Update] = []
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while not updates or not done(updates[-1]):
            update = await call.read()
            assert update is not grpc.aio.EOF, f"the stream ended after {len(updates)} updates"
            updates.append(update)
    return updates


async def stream_error(call: grpc.aio.UnaryStreamCall) -> tuple[list[Update], grpc.aio.AioRpcError]:
    """Whatever the stream still delivers, and the error that ends it."""
    updates: list[Update] = []
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while True:
            try:
                update = await call.read()
            except grpc.aio.AioRpcError as error:
                return updates, error
            assert update is not grpc.aio.EOF, "the stream ended without an error"
            updates.append(update)


def sequences(updates: Sequence[Update]) -> list[int]:
    return [update.sequence for update in updates]


async def place_market_orders(client: Client, count: int, **fields: Any) -> list[pb.Order]:
    """`count` market orders one after the other, alternating buy and sell (positions stay flat)."""
    sides = itertools.cycle((pb.SIDE_BUY, pb.SIDE_SELL))
    return [await client.place(side=next(sides), **fields) for _ in range(count)]


async def subscriber_count(client: Client) -> int:
    return client.app.fanout.subscriber_count


def small_window(database_url: str, tmp_path: Path, window_size: int = WINDOW) -> Settings:
    return settings_for(database_url, tmp_path, stream=StreamConfig(window_size=window_size))


def oldest_available_in(error: grpc.aio.AioRpcError) -> str:
    """The BadRequest detail of an OUT_OF_RANGE: the description on after_sequence."""
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    [violation] = bad_request.field_violations
    assert violation.field == "after_sequence"
    return violation.description


# --- resume ---

RESUME_POINTS = 200  # k = 0 .. 199: every resume point of a run of at least 200 updates


def reads_after_resuming(k: int, backlog: int) -> int:
    """How many updates the resumed client reads. On every sixth resume point, and whenever
    nothing is left to replay, one more than was committed when it reconnected: it has to wait
    for a live update, which the writer places meanwhile. Otherwise a few, short of the live edge,
    so that the backlog shrinks and resume points move from the log, through the window, to the
    live edge."""
    if k % 6 == 0 or backlog == 0:
        return backlog + 1
    return min(backlog, 4)


async def test_a_client_resuming_after_any_number_of_updates_misses_none_and_repeats_none(
    database_url: str, tmp_path: Path
) -> None:
    """For every k, a client that saw k updates, disconnected, and resumed after the last one
    gets exactly the rest: its two streams together are one gap-free, duplicate-free prefix."""
    async with running(small_window(database_url, tmp_path)) as client:
        await place_market_orders(client, 15)  # a backlog well beyond the window to start with
        live_edge_wanted = 0

        async def keep_placing() -> None:
            sides = itertools.cycle((pb.SIDE_BUY, pb.SIDE_SELL))
            while True:
                if client.app.fanout.high_water_mark < live_edge_wanted:
                    await client.place(side=next(sides))
                else:
                    await asyncio.sleep(0.001)

        writer = asyncio.create_task(keep_placing())
        seen_by_resume_point: dict[int, list[Update]] = {}
        live_waits: dict[int, int] = {}  # resume point -> its backlog, where it waited for live ones
        try:
            for k in range(RESUME_POINTS):
                before = stream(client, 0)
                first = await take(before, k)
                before.cancel()
                resume_after = first[-1].sequence if first else 0
                backlog = client.app.fanout.high_water_mark - resume_after
                reads = reads_after_resuming(k, backlog)
                if reads > backlog:
                    live_waits[k] = backlog
                live_edge_wanted = resume_after + reads  # placed while it reconnects
                after = stream(client, resume_after)
                rest = await take(after, reads)
                after.cancel()
                seen_by_resume_point[k] = first + rest
        finally:
            writer.cancel()
        whole = await take(stream(client, 0), max(len(seen) for seen in seen_by_resume_point.values()))

    assert len(whole) >= RESUME_POINTS
    assert sequences(whole) == list(range(1, len(whole) + 1))
    for k, seen in seen_by_resume_point.items():
        assert sequences(seen) == sequences(whole[: len(seen)]), f"resumed after {k} updates"
        assert seen == whole[: len(seen)], f"resumed after {k} updates"
    # It covered the seams: waiting for live updates after replaying from the log, from the
    # window, and with nothing to replay.
    assert any(backlog > WINDOW for backlog in live_waits.values())
    assert any(0 < backlog <= WINDOW for backlog in live_waits.values())
    assert any(backlog == 0 for backlog in live_waits.values())


# --- filters ---

MIXED_ORDERS = [  # (strategy_id, symbol): every filter below matches some and misses some
    ("alpha", "AAPL"), ("beta", "MSFT"), ("alpha", "MSFT"), ("beta", "AAPL"),
    ("beta", "TSLA"), ("alpha", "TSLA"), ("beta", "MSFT"), ("alpha", "MSFT"),
]


def matches(update: Update, strategy_id: str = "", symbol: str = "") -> bool:
    return (not strategy_id or update.order.strategy_id == strategy_id) and (
        not symbol or update.order.symbol == symbol
    )


# The filters a stream accepts: by strategy, by symbol, by both.
EACH_FILTER = pytest.mark.parametrize(
    "filters",
    [{"strategy_id": "alpha"}, {"symbol": "MSFT"}, {"strategy_id": "alpha", "symbol": "MSFT"}],
    ids=["strategy", "symbol", "strategy-and-symbol"],
)


async def place_mixed_orders(client: Client) -> None:
    for strategy_id, symbol in MIXED_ORDERS:
        await place_market_orders(client, 1, strategy_id=strategy_id, symbol=symbol)


@EACH_FILTER
async def test_a_filtered_stream_delivers_exactly_the_matching_updates_in_order(
    database_url: str, tmp_path: Path, filters: dict[str, str]
) -> None:
    async with running(small_window(database_url, tmp_path, window_size=4)) as client:
        await place_mixed_orders(client)
        everything = await take(stream(client), len(MIXED_ORDERS) * UPDATES_PER_MARKET_ORDER)
        expected = [update for update in everything if matches(update, **filters)]
        filtered = stream(client, 0, **filters)
        replayed = await take(filtered, len(expected))
        # Then live: a non-matching order, a matching one; only the second may come next.
        await client.place(strategy_id="gamma", symbol="NVDA")
        sentinel = await client.place(strategy_id="alpha", symbol="MSFT")
        [next_update] = await take(filtered, 1)
        filtered.cancel()

    assert 0 < len(expected) < len(everything)
    assert replayed == expected
    assert (next_update.order.order_id, next_update.event_type) == (sentinel.order_id, "placed")


# --- many subscribers ---

SUBSCRIBERS = 1000
SUBSCRIBER_FILTERS: list[dict[str, str]] = [{}, {"strategy_id": "alpha"}, {"symbol": "MSFT"}]


async def test_a_thousand_concurrent_streams_each_see_every_matching_update_in_order(
    database_url: str, tmp_path: Path
) -> None:
    # One connection carries them all, and the orders: its stream cap raised above them.
    limits = ServerLimits(max_concurrent_streams=2 * SUBSCRIBERS)
    async with running(settings_for(database_url, tmp_path, limits=limits)) as client:
        calls = [stream(client, 0, **SUBSCRIBER_FILTERS[i % len(SUBSCRIBER_FILTERS)]) for i in range(SUBSCRIBERS)]
        await eventually(lambda: subscriber_count(client), lambda n: n == SUBSCRIBERS)
        await place_mixed_orders(client)  # the last order matches every filter
        everything = await take(stream(client), len(MIXED_ORDERS) * UPDATES_PER_MARKET_ORDER)
        expected = [[u for u in everything if matches(u, **filters)] for filters in SUBSCRIBER_FILTERS]
        received = await asyncio.gather(
            *(take(call, len(expected[i % len(SUBSCRIBER_FILTERS)])) for i, call in enumerate(calls))
        )
        for call in calls:
            call.cancel()

    for i, updates in enumerate(received):
        assert updates == expected[i % len(SUBSCRIBER_FILTERS)], f"subscriber {i}"


# --- slow readers ---


class WindowWatch:
    """Samples the fan-out's window length on every turn of the event loop it gets."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.longest = 0
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            self.longest = max(self.longest, self._client.app.fanout.window_length)
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._task.cancel()


async def stalled_stream(client: Client, channel: grpc.aio.Channel) -> tuple[grpc.aio.UnaryStreamCall, Update]:
    """A stream on a channel that buffers little, which reads one update and then stalls."""
    call = execution_pb2_grpc.ExecutionServiceStub(channel).StreamOrderUpdates(pb.StreamOrderUpdatesRequest())
    await client.place()
    [first] = await take(call, 1)
    return call, first


async def test_a_stalled_reader_does_not_hold_back_fast_readers_or_grow_memory_and_catches_up(
    database_url: str, tmp_path: Path
) -> None:
    def is_last_fill(update: Update) -> bool:
        return update.order.strategy_id == "last" and update.event_type == "fill"

    async with running(small_window(database_url, tmp_path)) as client:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{client.app.port}", options=SLOW_CLIENT_OPTIONS) as slow:
            stalled, first = await stalled_stream(client, slow)
            fast = [asyncio.create_task(take_until(stream(client, first.sequence), is_last_fill)) for _ in range(5)]
            watch = WindowWatch(client)
            await place_market_orders(client, 150)
            await client.place(strategy_id="last")
            fast_seen = await asyncio.gather(*fast)
            watch.stop()
            caught_up = await take_until(stalled, is_last_fill)
            # ...and it is live again: the next order reaches it.
            following = await client.place()
            live = await take_until(stalled, lambda u: u.order.order_id == following.order_id)
            stalled.cancel()

    end = first.sequence + len(caught_up)
    for seen in fast_seen:
        assert sequences(seen) == list(range(first.sequence + 1, end + 1))
    assert caught_up == fast_seen[0]
    assert sequences([first, *caught_up, *live]) == list(range(1, end + len(live) + 1))
    assert 0 < watch.longest <= WINDOW


async def test_a_stalled_reader_whose_updates_retention_deleted_gets_out_of_range_naming_the_oldest(
    database_url: str, tmp_path: Path
) -> None:
    async with running(small_window(database_url, tmp_path)) as client:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{client.app.port}", options=SLOW_CLIENT_OPTIONS) as slow:
            stalled, first = await stalled_stream(client, slow)
            await place_market_orders(client, 150)  # 450 updates, far past the few it took
            keep_after = 100
            async with client.app.engine.begin() as conn:
                await repository.trim_events(conn, keep_after)
            delivered, error = await stream_error(stalled)
            resumed = await take(stream(client, keep_after), 1)

    got = sequences([first, *delivered])
    assert got == list(range(1, len(got) + 1)) and got[-1] < keep_after
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert oldest_available_in(error) == f"oldest available sequence is {keep_after + 1}"
    assert sequences(resumed) == [keep_after + 1]


async def test_resuming_before_the_oldest_retained_update_is_out_of_range_naming_the_oldest(
    database_url: str, tmp_path: Path
) -> None:
    async with running(small_window(database_url, tmp_path)) as client:
        await place_market_orders(client, 20)
        await take(stream(client), 20 * UPDATES_PER_MARKET_ORDER)
        async with client.app.engine.begin() as conn:
            await repository.trim_events(conn, 10)
        delivered, error = await stream_error(stream(client, 5))

    assert delivered == []
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert oldest_available_in(error) == "oldest available sequence is 11"


# --- lifecycle ---


async def test_server_shutdown_ends_open_streams_with_unavailable(database_url: str, tmp_path: Path) -> None:
    """Idle streams and one the client stopped reading. They end because the service closes
    them, not because the grace period for in-flight calls runs out: it is longer than the test
    waits."""
    settings = settings_for(
        database_url, tmp_path, grace_seconds=2 * HANG_GUARD_SECONDS, stream=StreamConfig(window_size=WINDOW)
    )
    async with running(settings) as client:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{client.app.port}", options=SLOW_CLIENT_OPTIONS) as slow:
            stalled, _ = await stalled_stream(client, slow)
            idle = [stream(client, 10**9) for _ in range(3)]  # waiting for sequences far ahead
            await place_market_orders(client, 100)
            await eventually(lambda: subscriber_count(client), lambda n: n == 4)
            stopping = asyncio.create_task(client.app.stop())
            outcomes = await asyncio.gather(*(stream_error(call) for call in [stalled, *idle]))
            await stopping

    assert [error.code() for _, error in outcomes] == [grpc.StatusCode.UNAVAILABLE] * 4


async def test_cancelling_a_stream_frees_its_subscription(database_url: str, tmp_path: Path) -> None:
    """Idle streams and one the client stopped reading (the server blocked writing to it)."""
    async with running(small_window(database_url, tmp_path)) as client:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{client.app.port}", options=SLOW_CLIENT_OPTIONS) as slow:
            stalled, _ = await stalled_stream(client, slow)
            idle = [stream(client, 10**9) for _ in range(3)]
            await place_market_orders(client, 100)
            counts = [await eventually(lambda: subscriber_count(client), lambda n: n == 4)]
            for call in [stalled, *idle]:
                call.cancel()
                remaining = counts[-1] - 1
                counts.append(await eventually(lambda: subscriber_count(client), lambda n: n == remaining))

    assert counts == [4, 3, 2, 1, 0]


async def test_a_client_resuming_across_a_server_restart_sees_one_gap_free_sequence(
    database_url: str, tmp_path: Path
) -> None:
    """It saw part of what the first server streamed; after the restart it gets the rest of that
    from the log, then what the second server commits, live."""
    settings = small_window(database_url, tmp_path, window_size=4)
    async with running(settings) as client:
        await place_market_orders(client, 5)
        before_restart = await take(stream(client), 5 * UPDATES_PER_MARKET_ORDER)
    seen = before_restart[:7]
    async with running(settings) as client:
        resumed = stream(client, seen[-1].sequence)
        await place_market_orders(client, 5)
        rest = await take(resumed, len(before_restart) - len(seen) + 5 * UPDATES_PER_MARKET_ORDER)
        resumed.cancel()

    assert sequences(seen + rest) == list(range(1, 10 * UPDATES_PER_MARKET_ORDER + 1))
    assert seen + rest[: len(before_restart) - len(seen)] == before_restart


# --- what an update carries ---


async def test_each_fill_update_carries_the_fill_and_the_order_as_it_is_after_it(
    database_url: str, tmp_path: Path
) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        call = stream(client)
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="100.5", available_quantity="4"))
        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="105", quantity="10.5")
        partly = await eventually(
            lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_PARTIALLY_FILLED
        )
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="102.25"))
        filled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
        updates = await take_until(call, lambda u: u.order.status == pb.ORDER_STATUS_FILLED)
        call.cancel()

    fills = [update for update in updates if update.event_type == "fill"]
    assert [(f.fill.quantity, f.fill.price) for f in fills] == [("4", "100.5"), ("6.5", "102.25")]
    assert all(f.fill.execution_id for f in fills) and fills[0].fill.execution_id != fills[1].fill.execution_id
    assert all(f.HasField("fill") is (f.event_type == "fill") for f in updates)
    assert [f.order for f in fills] == [partly, filled]
    average = (Decimal(4) * Decimal("100.5") + Decimal("6.5") * Decimal("102.25")) / Decimal("10.5")
    assert abs(Decimal(filled.average_fill_price) - average) < Decimal("1e-12")


async def test_sequences_continue_after_retention_trimmed_the_whole_log(database_url: str, tmp_path) -> None:
    """Even with every log row deleted, a restarted service never hands out a sequence again."""
    from execution_server.store import repository
    from tests.harness import running, settings_for

    settings = settings_for(database_url, tmp_path)
    async with running(settings) as client:
        await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
        last = client.app.writer.last_sequence
        async with client.app.engine.begin() as conn:
            await repository.trim_events(conn, last)
    async with running(settings) as client:
        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
        assert order.status == pb.ORDER_STATUS_SUBMITTED
        assert client.app.writer.last_sequence > last


async def test_entries_written_before_payloads_were_stored_are_still_replayed(database_url: str, tmp_path) -> None:
    """Rows from before migration 0002 have no stored bytes: they are encoded from their columns."""
    from sqlalchemy import update

    from execution_server.store import tables
    from tests.harness import running, settings_for

    settings = settings_for(database_url, tmp_path)
    async with running(settings) as client:
        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
        last = client.app.writer.last_sequence
    async with running(settings) as client:
        async with client.app.engine.begin() as conn:
            await conn.execute(update(tables.order_events).values(payload=None))
        received = []
        async for message in client.execution.StreamOrderUpdates(pb.StreamOrderUpdatesRequest()):
            received.append(message)
            if message.sequence == last:
                break
        assert [m.sequence for m in received] == list(range(1, last + 1))
        assert received[-1].order.order_id == order.order_id


async def test_readers_that_are_behind_take_turns_and_each_still_gets_every_update(
    database_url: str, tmp_path: Path
) -> None:
    """One send slot for every reader that is behind: four readers replaying the same backlog
    from the log, one more going away mid-stream, while orders keep arriving. Each gets every
    update once, in order, and a reader that comes afterwards finds the slot free again."""
    settings = small_window(database_url, tmp_path)
    settings = replace(settings, stream=dataclasses.replace(settings.stream, catch_up_send_slots=1))
    total = 40 * UPDATES_PER_MARKET_ORDER
    async with running(settings) as client:
        await place_market_orders(client, 30)
        readers = [stream(client, 0) for _ in range(4)]
        leaver = stream(client, 0)
        await take(leaver, 5)
        more = asyncio.ensure_future(place_market_orders(client, 10, strategy_id="later"))
        leaver.cancel()
        received = await asyncio.gather(*(take(reader, total) for reader in readers))
        await more
        latecomer = await take(stream(client, 0), total)
        for reader in readers:
            reader.cancel()

    for updates in [*received, latecomer]:
        assert sequences(updates) == list(range(1, total + 1))


async def test_readers_replaying_while_orders_flow_are_paced_and_each_still_gets_every_update(
    database_url: str, tmp_path: Path
) -> None:
    """A pace that leaves readers that are behind 1% of the loop while orders are committed:
    three readers replay a backlog from the log (further behind than the live edge, so they
    take send slots) while orders keep coming. Every order is answered, and each reader gets
    every update once, in order, the new ones too."""
    settings = small_window(database_url, tmp_path)
    settings = replace(settings, stream=dataclasses.replace(settings.stream, catch_up_share=0.01))
    backlog = JOIN_LIVE_EDGE_ENTRIES // UPDATES_PER_MARKET_ORDER + 20
    total = (backlog + 30) * UPDATES_PER_MARKET_ORDER
    async with running(settings) as client:
        await place_market_orders(client, backlog)
        readers = [stream(client, 0) for _ in range(3)]
        more = asyncio.ensure_future(place_market_orders(client, 30, strategy_id="during"))
        received = await asyncio.gather(*(take(reader, total) for reader in readers))
        placed = await more
        for reader in readers:
            reader.cancel()

    assert len(placed) == 30 and all(order.status == pb.ORDER_STATUS_FILLED for order in placed)
    for updates in received:
        assert sequences(updates) == list(range(1, total + 1))


@pytest.mark.slow  # 4 s of idleness is the point of it
@pytest.mark.parametrize(("keepalive_seconds", "survives"), [(0.2, True), (60.0, False)])
async def test_keepalive_pings_keep_an_idle_stream_open_through_a_proxy_that_drops_idle_connections(
    database_url: str, tmp_path: Path, keepalive_seconds: float, survives: bool
) -> None:
    """The proxy drops a connection after 2 s without a byte. A stream that gets no update for
    4 s survives it when the server pings idle connections every 0.2 s, and receives the next
    order's updates. The control, pings 60 s apart: the proxy drops the connection and the
    stream ends UNAVAILABLE, so the client knows to reconnect and resume."""
    settings = settings_for(database_url, tmp_path, keepalive_seconds=keepalive_seconds)
    async with running(settings) as client, IdleDroppingProxy(client.app.port, idle_seconds=2.0) as proxy:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{proxy.port}") as channel:
            call = execution_pb2_grpc.ExecutionServiceStub(channel).StreamOrderUpdates(pb.StreamOrderUpdatesRequest())
            await eventually(lambda: subscriber_count(client), lambda count: count == 1)
            await asyncio.sleep(4.0)  # no update: only pings, if any, cross the proxy
            await client.place()  # through a direct channel
            if survives:
                updates = await take(call, UPDATES_PER_MARKET_ORDER)
                assert [update.event_type for update in updates] == ["placed", "submitted", "fill"]
                assert proxy.dropped == 0
            else:
                with pytest.raises(grpc.aio.AioRpcError) as ended:
                    await take(call, 1)
                assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
                assert proxy.dropped == 1


async def test_each_update_is_serialised_once_however_many_subscribers_receive_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six subscribers (per-update and batch, live and replaying) receive every update; the
    service serialised each update exactly once, when it was written."""
    from execution_server import app as app_module
    from execution_server.api import convert
    from tests.integration.test_stream_batches import batch_stream, take_updates

    encoded: list[int] = []
    encode = app_module.encode_update

    def counting(update: Any) -> bytes:
        encoded.append(update.sequence)
        return encode(update)

    monkeypatch.setattr(app_module, "encode_update", counting)
    monkeypatch.setattr(convert, "encode_update", counting)
    total = 20 * UPDATES_PER_MARKET_ORDER
    async with running(small_window(database_url, tmp_path)) as client:
        live = [stream(client), stream(client), batch_stream(client), batch_stream(client)]
        await eventually(lambda: subscriber_count(client), lambda count: count == len(live))
        await place_market_orders(client, 20)
        replaying = [stream(client, 0), batch_stream(client, 0, max_updates=3)]
        received = [await take(call, total) for call in live[:2]]
        received += [await take_updates(call, total) for call in live[2:]]
        received += [await take(replaying[0], total), await take_updates(replaying[1], total, max_updates=3)]
        for call in live + replaying:
            call.cancel()

    assert all(sequences(updates) == list(range(1, total + 1)) for updates in received)
    assert sorted(encoded) == list(range(1, total + 1))


async def test_a_stalled_reader_that_is_behind_does_not_keep_the_send_slot_from_the_others(
    database_url: str, tmp_path: Path
) -> None:
    """One send slot for every reader that is behind. A reader replaying a backlog reads one
    update and stalls: its sends block on flow control while it holds the slot. Three more
    readers replaying the same backlog still get all of it, and so does the stalled one once
    it reads again."""
    settings = small_window(database_url, tmp_path)
    settings = replace(settings, stream=dataclasses.replace(settings.stream, catch_up_send_slots=1))
    total = 60 * UPDATES_PER_MARKET_ORDER
    async with running(settings) as client:
        await place_market_orders(client, 60)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{client.app.port}", options=SLOW_CLIENT_OPTIONS) as slow:
            stalled = execution_pb2_grpc.ExecutionServiceStub(slow).StreamOrderUpdates(pb.StreamOrderUpdatesRequest())
            first = await take(stalled, 1)
            others = await asyncio.gather(*(take(stream(client, 0), total) for _ in range(3)))
            rest = await take(stalled, total - 1)
            stalled.cancel()

    for updates in [*others, first + rest]:
        assert sequences(updates) == list(range(1, total + 1))
