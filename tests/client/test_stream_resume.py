"""stream_order_updates resumes by itself: across a server restarted under it (SIGKILL or
SIGTERM, the server a separate process on the same port and database) and across a dropped
connection (a proxy that cuts idle connections), with no gap and no duplicate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from execution_client import ExecutionClient
from execution_server.app import Application
from tests.client.streams import StreamReader, assert_complete, place_retrying, replay
from tests.harness import settings_for
from tests.idle_proxy import IdleDroppingProxy
from tests.process import ServerProcess

FAST_RESUME = (0.05, 0.5)  # the reconnection backoff: the test need not wait seconds per attempt


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["kill", "terminate"])
async def test_the_stream_resumes_across_a_server_restart(database_url: str, tmp_path: Path, stop: str) -> None:
    server = ServerProcess(database_url, tmp_path)
    with server:
        async with ExecutionClient(server.address, stream_backoff=FAST_RESUME) as client:
            reader = StreamReader(client)
            before = [f"before-{n}" for n in range(5)]
            for client_order_id in before:
                await place_retrying(client, client_order_id)
            await reader.until_settled(before)
            delivered_before = len(reader.updates)

            # The stream is live; the server goes away under it and comes back on the same port.
            in_flight = "in-flight"
            await place_retrying(client, in_flight)
            await asyncio.to_thread(server.kill if stop == "kill" else server.terminate)
            await asyncio.to_thread(server.start)

            after = [f"after-{n}" for n in range(5)]
            for client_order_id in after:
                await place_retrying(client, client_order_id)
            everything = [*before, in_flight, *after]
            await reader.until_settled(everything)
            delivered = await reader.stop()
        assert len(delivered) > delivered_before
        assert_complete(delivered, await replay(server.address, through=delivered[-1].sequence), everything)


async def test_the_stream_resumes_after_a_dropped_connection(database_url: str, tmp_path: Path) -> None:
    app = Application(settings_for(database_url, tmp_path))
    port = await app.start()
    address = f"127.0.0.1:{port}"
    try:
        async with IdleDroppingProxy(port, idle_seconds=0.3) as proxy, \
                ExecutionClient(f"127.0.0.1:{proxy.port}", stream_backoff=FAST_RESUME) as through_proxy, \
                ExecutionClient(address) as trader:
            reader = StreamReader(through_proxy)
            before = [f"before-{n}" for n in range(3)]
            for client_order_id in before:
                await place_retrying(trader, client_order_id)
            await reader.until_settled(before)
            for _ in range(3000):  # the stream idles until the proxy cuts it
                if proxy.dropped:
                    break
                await asyncio.sleep(0.02)
            assert proxy.dropped >= 1

            after = [f"after-{n}" for n in range(3)]
            for client_order_id in after:
                await place_retrying(trader, client_order_id)
            await reader.until_settled([*before, *after])
            delivered = await reader.stop()
        assert_complete(delivered, await replay(address, through=delivered[-1].sequence), [*before, *after])
    finally:
        await app.stop()


async def test_resuming_from_a_sequence_delivers_only_what_came_after(client: ExecutionClient) -> None:
    placed = [f"order-{n}" for n in range(3)]
    for client_order_id in placed:
        await place_retrying(client, client_order_id)
    reader = StreamReader(client)
    await reader.until_settled(placed)
    everything = await reader.stop()
    middle, last = everything[len(everything) // 2].sequence, everything[-1].sequence
    resumed: list[int] = []
    async for update in client.stream_order_updates(from_sequence=middle):
        resumed.append(update.sequence)
        if update.sequence >= last:
            break
    assert resumed == [u.sequence for u in everything if u.sequence > middle]


async def test_closing_the_client_ends_its_stream(address: str) -> None:
    client = ExecutionClient(address)
    reader = StreamReader(client)
    await place_retrying(client, "one")
    await reader.until_settled(["one"])
    await client.close()
    await reader.ended()  # by itself, without an exception
    assert reader.updates
