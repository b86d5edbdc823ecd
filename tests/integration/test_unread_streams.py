"""A client that opens raw HTTP/2 streams and never reads them, then drops them: the server lets
them go as the ordinary end of a stream (no ERROR, no traceback) and goes on serving."""

from __future__ import annotations

import asyncio
import logging

import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.config import ServerLimits
from tests.harness import Client
from tests.raw_http2 import RawConnection
from tests.waiting import eventually

STREAMS = ServerLimits().max_concurrent_streams  # as many as one connection may have open
STREAM_METHOD = "/execution.v1.ExecutionService/StreamOrderUpdates"


async def subscribers(client: Client) -> int:
    await asyncio.sleep(0)
    return client.app.fanout.subscriber_count


@pytest.mark.parametrize("drop", ["reset each stream", "close the connection"])
async def test_streams_never_read_then_dropped_end_without_an_error_in_the_log(
    client: Client, caplog: pytest.LogCaptureFixture, drop: str
) -> None:
    caplog.set_level(logging.WARNING)
    raw = RawConnection(client.app.port, initial_window=0)  # the server may send no byte of a reply
    try:
        stream_ids = [raw.call(STREAM_METHOD, pb.StreamOrderUpdatesRequest()) for _ in range(STREAMS)]
        await eventually(lambda: subscribers(client), lambda count: count == STREAMS)
        for _ in range(5):  # updates for every stream, none of which can be sent
            await client.place()
        if drop == "reset each stream":
            await asyncio.to_thread(raw.reset, stream_ids)
    finally:
        raw.close()
    await eventually(lambda: subscribers(client), lambda count: count == 0)
    await client.place()  # the service goes on, and the streams' ends have all been logged by now
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], f"{len(errors)} ERROR records, the first: {errors[0].getMessage()}"
    assert not any(record.exc_info for record in caplog.records)
