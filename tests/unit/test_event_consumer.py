"""The broker-event consumer alone, with a fake applier whose writes the test makes succeed or
fail: failed events are kept and applied again in order, refusals are not retried, and markers
give reconciliation a cut with what moved between them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from execution_server.backoff import Backoff
from execution_server.brokers.base import OrderAccepted, OrderFilled, StreamConnected
from execution_server.oms.event_consumer import BrokerEventConsumer, CutNotReached, CutUnavailable
from execution_server.store.writer import ChangeRefused, StoreUnavailable
from tests.builders import an_order
from tests.fakes import QuietBroker
from tests.waiting import eventually

T = datetime(2026, 12, 1, tzinfo=UTC)


def a_fill(client_order_id: str, n: int = 1) -> OrderFilled:
    return OrderFilled(f"b-{client_order_id}", client_order_id, f"x-{client_order_id}-{n}", Decimal(1), Decimal(100), T)


@dataclass
class FakeApplier:
    """Applies instantly; `fail` holds how many more times each client order id's event fails,
    `refuse` the ids the store refuses for ever."""

    applied: list[str] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)

    def queue(self, event: OrderFilled | OrderAccepted) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        cid = event.client_order_id
        if cid in self.refuse:
            future.set_exception(ChangeRefused("the database refused the change: constraint"))
        elif self.fail.get(cid, 0) > 0:
            self.fail[cid] -= 1
            future.set_exception(StoreUnavailable("database is locked"))
        else:
            self.applied.append(cid)
            future.set_result(an_order(client_order_id=cid, symbol=f"SYM-{cid}"))
        return future


@dataclass
class Calls:
    degraded: list[bool] = field(default_factory=list)
    recovered: int = 0
    refused: list[str] = field(default_factory=list)


@pytest.fixture
async def consumer() -> AsyncIterator[tuple[BrokerEventConsumer, QuietBroker, FakeApplier, Calls]]:
    broker, applier, calls = QuietBroker(), FakeApplier(), Calls()

    def recovered() -> None:
        calls.recovered += 1

    consumer = BrokerEventConsumer(
        broker, applier, on_reconnect=lambda: None,  # type: ignore[arg-type]
        on_degraded=calls.degraded.append, on_recovered=recovered, on_refused=calls.refused.append,
        retry=lambda: Backoff(first=0.001, cap=0.01),
    )
    consumer.start()
    yield consumer, broker, applier, calls
    await consumer.stop()


async def test_failed_events_are_applied_again_in_order_and_nothing_overtakes_them(consumer) -> None:
    events, broker, applier, calls = consumer
    applier.fail = {"a": 3, "b": 1}
    for cid in ("a", "b", "c"):
        broker.emit(a_fill(cid))
    await eventually(lambda: _now(applier.applied), lambda applied: len(applied) == 3)
    broker.emit(a_fill("d"))
    await eventually(lambda: _now(applier.applied), lambda applied: len(applied) == 4)
    assert applier.applied[1:] == ["a", "b", "d"] or applier.applied == ["c", "a", "b", "d"]
    assert calls.degraded == [True, False] and calls.recovered == 1 and not events.degraded


async def test_an_event_the_store_refuses_for_ever_is_not_retried_and_the_stream_goes_on(consumer) -> None:
    events, broker, applier, calls = consumer
    applier.refuse = {"bad"}
    broker.emit(a_fill("bad"))
    broker.emit(a_fill("next"))
    await eventually(lambda: _now(applier.applied), lambda applied: applied == ["next"])
    assert calls.refused == ["event refused by the database for order bad"] and calls.degraded == []


async def test_a_cut_reports_what_moved_between_its_markers_and_holds_what_follows(consumer) -> None:
    events, broker, applier, _ = consumer
    broker.emit(a_fill("before"))
    opening = events.open_window(broker.request_marker())
    broker.emit(a_fill("between"))
    closing = broker.request_marker()
    broker.emit(a_fill("after"))
    async with events.held_at(opening, closing, timeout=5) as moved:
        assert applier.applied == ["before", "between"]
        assert (moved.symbols, moved.client_order_ids) == (frozenset({"SYM-between"}), frozenset({"between"}))
        await asyncio.sleep(0.01)
        assert "after" not in applier.applied  # held until the cut is released
    await eventually(lambda: _now(applier.applied), lambda applied: applied[-1] == "after")


async def test_no_marker_means_no_cut(consumer) -> None:
    events, *_ = consumer
    with pytest.raises(CutUnavailable):
        async with events.held_at(events.open_window(None), None, timeout=1):
            pass


async def test_a_reconnect_between_the_markers_abandons_the_cut(consumer) -> None:
    events, broker, *_ = consumer
    opening = events.open_window(broker.request_marker())
    broker.emit(StreamConnected(T, reconnect=True))  # the markers of the old connection never come
    with pytest.raises(CutUnavailable):
        async with events.held_at(opening, object(), timeout=5):
            pass


async def _now(value: list[str]) -> list[str]:
    return list(value)


async def test_a_cut_whose_earlier_events_cannot_be_applied_is_not_reached(consumer) -> None:
    events, broker, applier, calls = consumer
    applier.fail = {"stuck": 10**9}  # the store refuses it for the whole test
    broker.emit(a_fill("stuck"))
    opening = events.open_window(broker.request_marker())
    with pytest.raises(CutNotReached):
        async with events.held_at(opening, broker.request_marker(), timeout=0.05):
            pass
    assert calls.degraded == [True]
