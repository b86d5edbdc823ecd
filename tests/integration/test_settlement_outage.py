"""An order whose submission outcome is unknown, while the broker cannot even be asked about
it: it is never rejected as NOT_RECEIVED (it may well be live there); it stays in flight. Only
the broker's own "no such order" rejects it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution_server.brokers.base import BrokerAck, BrokerOrder, BrokerUnavailable, SubmissionOutcomeUnknown
from execution_server.domain.orders import Order
from tests.fakes import QuietBroker
from tests.harness import running, settings_for


class UnreachableAfterSubmit(QuietBroker):
    """The submission's answer is lost; every lookup then fails (an outage), or answers that
    the broker has no such order."""

    def __init__(self, *, lookups_fail: bool) -> None:
        super().__init__()
        self.lookups_fail = lookups_fail
        self.lookups = 0

    async def submit(self, order: Order) -> BrokerAck:
        await super().submit(order)
        raise SubmissionOutcomeUnknown("the answer was lost")

    async def find_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        self.lookups += 1
        if self.lookups_fail:
            raise BrokerUnavailable("connection refused")
        return None


@pytest.mark.parametrize("lookups_fail", [True, False])
async def test_an_order_is_rejected_as_never_received_only_on_the_brokers_word(
    database_url: str, tmp_path: Path, lookups_fail: bool, caplog: pytest.LogCaptureFixture
) -> None:
    broker = UnreachableAfterSubmit(lookups_fail=lookups_fail)
    async with running(settings_for(database_url, tmp_path, settle_attempts=2), broker) as client:
        placed = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="100")
        assert (placed.status, placed.in_flight) == (pb.ORDER_STATUS_PENDING, True)
        with caplog.at_level(logging.ERROR):
            await asyncio.gather(*list(client.app.recovery._tasks))  # the look-ups run to their end

        after = await client.get(placed.order_id)
        assert broker.lookups == 2
        if lookups_fail:
            assert (after.status, after.in_flight) == (pb.ORDER_STATUS_PENDING, True)
            assert any("could not be asked" in r.getMessage() for r in caplog.records)
        else:
            assert after.status == pb.ORDER_STATUS_REJECTED and after.reject_reason.startswith("NOT_RECEIVED")
