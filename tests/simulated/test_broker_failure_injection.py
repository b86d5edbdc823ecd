"""Latency and failure injection: seeded, so a failing run can be replayed exactly."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from execution_server.brokers.base import (
    BrokerRejected,
    BrokerStreamDropped,
    OrderAccepted,
    OrderFilled,
    StreamConnected,
    SubmissionOutcomeUnknown,
)
from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings
from execution_server.brokers.simulated import journal
from execution_server.brokers.simulated.facts import Accepted
from execution_server.brokers.simulated.ticker import RandomWalk
from execution_server.domain.orders import OrderStatus

from .builders import D, an_order
from .conftest import take

FLAKY = {"reject_fraction": 0.3, "unknown_outcome_fraction": 0.2}


async def _outcomes(seed: int, count: int = 60) -> list[str]:
    broker = SimulatedBroker(SimulatorSettings(seed=seed, **FLAKY))  # type: ignore[arg-type]
    await broker.start()
    outcomes = []
    for n in range(count):
        try:
            await broker.submit(an_order(client_order_id=f"c-{n}"))
            outcomes.append("ack")
        except BrokerRejected:
            outcomes.append("rejected")
        except SubmissionOutcomeUnknown:
            outcomes.append("unknown")
    await broker.close()
    return outcomes


async def test_failure_injection_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first, again, other = await _outcomes(7), await _outcomes(7), await _outcomes(8)
    assert first == again
    assert first != other
    assert {"ack", "rejected", "unknown"} == set(first)


async def test_an_unknown_outcome_order_lives_at_the_broker_and_a_rejected_one_does_not() -> None:
    broker = SimulatedBroker(SimulatorSettings(seed=7, **FLAKY))  # type: ignore[arg-type]
    await broker.start()
    seen: dict[str, str] = {}
    for n in range(30):
        try:
            await broker.submit(an_order(client_order_id=f"c-{n}"))
        except BrokerRejected:
            seen[f"c-{n}"] = "rejected"
        except SubmissionOutcomeUnknown:
            seen[f"c-{n}"] = "unknown"
    found = {cid: await broker.find_by_client_id(cid) for cid in seen}
    assert {cid for cid, order in found.items() if order is not None} == {
        cid for cid, outcome in seen.items() if outcome == "unknown"
    }
    assert all(o.status is OrderStatus.FILLED for o in found.values() if o is not None)
    await broker.close()


async def test_no_failure_is_injected_by_default(broker: SimulatedBroker) -> None:
    for _ in range(200):
        await broker.submit(an_order())
    assert len(broker.engine.ledger.orders) == 200


async def test_ack_latency_delays_the_acknowledgement_but_not_the_acceptance() -> None:
    """Within the ack delay the broker has the order, but neither the caller nor the stream has
    heard of it; when the delay ends (cut short here: the broker goes on with the order even if
    its caller gives up waiting) it is acknowledged and works. No clock is read."""
    broker = SimulatedBroker(SimulatorSettings(ack_latency_seconds=30))
    await broker.start()
    stream = broker.events()
    assert type(await anext(stream)) is StreamConnected
    submission = asyncio.create_task(broker.submit(an_order(client_order_id="slow")))
    waiting = None
    while waiting is None:
        await asyncio.sleep(0)
        waiting = await broker.find_by_client_id("slow")
    assert (waiting.status, waiting.filled_quantity) == (OrderStatus.SUBMITTED, D(0))
    assert not submission.done()
    submission.cancel()
    await asyncio.gather(submission, return_exceptions=True)
    assert [type(e) for e in await take(stream, 2)] == [OrderAccepted, OrderFilled]
    await broker.close()


async def test_order_accepted_before_a_crash_in_the_ack_delay_is_at_the_broker_after_restart(tmp_path: Path) -> None:
    settings = SimulatorSettings(ack_latency_seconds=30, state_path=tmp_path / "broker.jsonl")
    doomed = SimulatedBroker(settings)
    await doomed.start()
    submission = asyncio.create_task(doomed.submit(an_order(client_order_id="in-flight")))
    await asyncio.sleep(0)  # submit is now awaiting its ack delay
    assert [f.client_order_id for f in journal.read(settings.state_path) if isinstance(f, Accepted)] == ["in-flight"]  # type: ignore[arg-type]

    restarted = SimulatedBroker(SimulatorSettings(state_path=settings.state_path))  # the process died; a new one starts
    await restarted.start()
    events = await take(restarted.events(), 3)
    assert [(type(e), getattr(e, "client_order_id", None)) for e in events[1:]] == [
        (OrderAccepted, "in-flight"), (OrderFilled, "in-flight"),
    ]  # fmt: skip
    await restarted.close()
    submission.cancel()
    await doomed.close()


async def test_seeded_stream_drops_break_the_reader() -> None:
    broker = SimulatedBroker(SimulatorSettings(drop_stream_fraction=0.5, seed=3))
    await broker.start()
    stream = broker.events()
    await take(stream, 1)
    for _ in range(20):
        await broker.submit(an_order())
    with pytest.raises(BrokerStreamDropped):
        await take(stream, 40)
    await broker.close()


def test_random_walk_is_the_same_for_the_same_seed_and_moves_in_cents() -> None:
    def path(seed: int) -> list[Decimal]:
        walk, price, prices = RandomWalk(seed), D("100"), []
        for _ in range(50):
            price = walk.step(price)
            prices.append(price)
        return prices

    assert path(1) == path(1) != path(2)
    assert all(p == p.quantize(D("0.01")) and p > 0 for p in path(1))


async def test_ticker_moves_prices_on_its_own_when_configured() -> None:
    broker = SimulatedBroker(SimulatorSettings(reference_prices={"AAPL": D(100)}, ticker_interval_seconds=0.005))
    await broker.start()
    for _ in range(200):
        if broker.reference_price("AAPL") != D(100):
            break
        await asyncio.sleep(0.005)
    assert broker.reference_price("AAPL") != D(100)
    await broker.close()
