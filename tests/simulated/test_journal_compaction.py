"""The journal is compacted while the broker runs: it stays bounded, and loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.brokers.base import BrokerRejected, CancelRefused
from execution_server.brokers.simulated import MatchingEngine, SimulatedBroker, SimulatorSettings
from execution_server.brokers.simulated import journal
from execution_server.brokers.simulated.facts import Fact
from execution_server.brokers.simulated.journal import CompactionPolicy
from execution_server.brokers.simulated.ledger import Ledger
from execution_server.brokers.simulated.order import SimOrder
from execution_server.domain.orders import OrderType, Side, TimeInForce

from .builders import D, an_engine, an_order, at
from .test_engine_properties import cancels, orders, price_updates

POLICY = CompactionPolicy(min_lines=40, growth=2)


def _state(ledger: Ledger) -> tuple[object, ...]:
    """Everything a ledger holds that decides what it does next, read from its fields (not
    through snapshot(), which is what compaction writes and so what is under test): cash, the
    next ids, prices, what is available at them, positions, every order with its fills, which
    are open in arrival order, and what rests in each symbol's book."""
    order_fields = [f.name for f in dataclasses.fields(SimOrder) if f.name != "resting"]
    orders = [tuple(getattr(order, name) for name in order_fields) for order in ledger.by_seq.values()]
    books = {
        symbol: (list(b.buy_limits), list(b.sell_limits), list(b.buy_stops), list(b.sell_stops), sorted(b.markets))
        for symbol, b in sorted(ledger.books.items())
    }
    # A price is its value and time: what is still available at it is ledger.available (the
    # PriceSet kept in ledger.prices still says what was available when it was set).
    prices = {symbol: (fact.price, fact.at) for symbol, fact in ledger.prices.items()}
    return (
        ledger.cash, ledger.next_order_seq, ledger.next_execution_seq, prices,
        ledger.available, ledger.positions,
        sorted(orders, key=lambda order: order[0]), list(ledger.open),
        {symbol: lanes for symbol, lanes in books.items() if any(lanes)},
    )  # fmt: skip


def _bound(broker: SimulatedBroker) -> int:
    return max(POLICY.min_lines, POLICY.growth * (1 + len(broker.engine.ledger.by_seq)))


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


async def test_a_long_run_keeps_the_journal_bounded_and_a_restart_has_exactly_its_ledger(tmp_path: Path) -> None:
    path = tmp_path / "broker.jsonl"
    sim = SimulatorSettings(reference_prices={"AAPL": D(100), "MSFT": D(400)}, state_path=path)
    broker = SimulatedBroker(sim, lifetime="long", compaction=POLICY)
    await broker.start()
    written = 0
    for n in range(150):
        await broker.submit(an_order(quantity="2", client_order_id=f"m-{n}"))
        await broker.submit(
            an_order(side=Side.SELL, order_type=OrderType.LIMIT, limit=f"{101 + n % 5}", quantity="1",
                     time_in_force=TimeInForce.GTC, client_order_id=f"l-{n}")
        )  # fmt: skip
        if n % 7 == 0:
            with contextlib.suppress(CancelRefused):  # unless it filled already
                await broker.cancel(an_order(client_order_id=f"l-{n}"))
        for cents in range(10):  # what a ticker does: a line per tick, with no order at all
            written += broker.set_price("AAPL", f"{100 + n % 6}.{cents}", "3")
            broker.set_price("MSFT", f"400.{cents}")
        if n % 50 == 49:
            broker.set_position("TSLA", str(n), "250.5")
            broker.close_session()
        assert _lines(path) <= _bound(broker)
    assert written > 0
    await broker.close()

    restarted = SimulatedBroker(sim, lifetime="later")
    await restarted.start()
    assert _state(restarted.engine.ledger) == _state(broker.engine.ledger)
    await restarted.close()


async def test_an_order_in_its_ack_delay_when_the_journal_is_compacted_is_acknowledged_after_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "broker.jsonl"
    sim = SimulatorSettings(reference_prices={"AAPL": D(100)}, state_path=path, ack_latency_seconds=0.05)
    broker = SimulatedBroker(sim, lifetime="slow", compaction=CompactionPolicy(min_lines=1, growth=1))
    await broker.start()
    submitting = asyncio.create_task(broker.submit(an_order(order_type=OrderType.LIMIT, limit="90", client_order_id="slow")))
    while not broker.engine.ledger.by_client_id:
        await asyncio.sleep(0)
    broker.set_price("AAPL", "99")  # compacts, with the order accepted but not yet working
    journaled = list(journal.read(path))
    assert [type(fact).__name__ for fact in journaled] == ["AccountRestored", "OrderRestored"]
    await submitting
    await broker.close()

    restarted = SimulatedBroker(sim, lifetime="later")
    await restarted.start()
    assert _state(restarted.engine.ledger) == _state(broker.engine.ledger)
    assert restarted.engine.ledger.by_client_id["slow"].active
    await restarted.close()


# --- the property: compacting at any point changes nothing a replay sees ---

accepts = orders().map(lambda command: ("accept", command[1]))  # accepted, not yet working
activations = st.tuples(st.just("activate"), st.integers(min_value=1, max_value=40))
positions = st.tuples(st.just("position"), st.sampled_from(("AAPL", "MSFT")), st.integers(-5, 5).map(D))
commands = st.lists(
    orders() | accepts | activations | price_updates | cancels | positions | st.just(("close",)), max_size=60
)


def _facts_of(commands: list[tuple]) -> list[Fact]:
    engine, facts = an_engine("100"), []
    for step, command in enumerate(commands):
        kind = command[0]
        try:
            if kind == "submit":
                facts += engine.submit(command[1], at(step))
            elif kind == "accept":
                facts.append(engine.accept(command[1], at(step)))
            elif kind == "activate":
                order = engine.ledger.by_seq.get(command[1])
                if order is not None and not order.active:
                    facts += engine.activate(order.order_id, at(step))
            elif kind == "price":
                facts += engine.set_price(command[1], command[2], command[3], at(step))
            elif kind == "cancel":
                facts += engine.cancel(f"sim-{command[1]}", "cancelled on request", at(step))
            elif kind == "position":
                facts += engine.set_position(command[1], command[2], D("10.5") if command[2] else None)
            else:
                facts += engine.close_session(at(step))
        except (BrokerRejected, CancelRefused):
            pass
    return facts


def _replayed(facts: list[Fact]) -> MatchingEngine:
    engine = an_engine("100")
    engine.replay(facts)
    return engine


def _compacted(facts: list[Fact]) -> list[Fact]:
    """What a compaction writes for these facts, read back as the journal reads it."""
    account, orders = _replayed(facts).ledger.snapshot()
    return [journal.decode(journal.encode(fact)) for fact in (account, *orders)]


@settings(max_examples=150, deadline=None)
@given(commands, st.data())
def test_replaying_a_journal_compacted_at_any_point_rebuilds_the_same_ledger(commands: list[tuple], data: st.DataObject) -> None:
    facts = _facts_of(commands)
    cut = data.draw(st.integers(min_value=0, max_value=len(facts)), label="compacted after")
    later = data.draw(st.integers(min_value=cut, max_value=len(facts)), label="compacted again after")
    once = _compacted(facts[:cut]) + facts[cut:]
    twice = _compacted(_compacted(facts[:cut]) + facts[cut:later]) + facts[later:]
    assert _state(_replayed(once).ledger) == _state(_replayed(facts).ledger)
    assert _state(_replayed(twice).ledger) == _state(_replayed(facts).ledger)

