"""The broker's journal: a restarted broker is the broker that stopped, exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings
from execution_server.brokers.simulated import journal
from execution_server.brokers.simulated.facts import PriceSet
from execution_server.brokers.simulated.journal import CorruptJournal
from execution_server.domain.orders import OrderStatus, OrderType, Side, TimeInForce

from .builders import D, a_spec, an_engine, an_order, at

FACT_KINDS = (
    "Accepted", "Activated", "Triggered", "Filled", "Closed", "PriceSet", "PositionSet", "AccountRestored", "OrderRestored",
)  # fmt: skip


def _settings(path: Path) -> SimulatorSettings:
    return SimulatorSettings(reference_prices={"AAPL": D(100)}, state_path=path)


async def _busy_broker(path: Path) -> SimulatedBroker:
    broker = SimulatedBroker(_settings(path), lifetime="before")
    await broker.start()
    await broker.submit(an_order(quantity="3"))
    resting = an_order(order_type=OrderType.LIMIT, limit="95.5", quantity="10", time_in_force=TimeInForce.GTC)
    ack = await broker.submit(resting)
    await broker.submit(an_order(side=Side.SELL, order_type=OrderType.STOP, stop="90", quantity="0.25"))
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="80", client_order_id="to-cancel"))
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="81", client_order_id="behind-back"))
    broker.set_price("AAPL", "95.25", "4")
    broker.set_price("MSFT", "0.1")
    broker.set_position("TSLA", "-7", "250.125")
    await broker.cancel(an_order(client_order_id="to-cancel"))
    broker.cancel_behind_back((await broker.find_by_client_id("behind-back")).broker_order_id)  # type: ignore[union-attr]
    broker.close_session()
    assert ack.broker_order_id == "sim-before-2"
    return broker


async def test_broker_restarted_on_its_journal_has_exactly_the_state_it_stopped_with(tmp_path: Path) -> None:
    path = tmp_path / "broker.jsonl"
    before = await _busy_broker(path)
    await before.close()
    after = SimulatedBroker(_settings(path))
    await after.start()
    assert after.engine.ledger.snapshot() == before.engine.ledger.snapshot()
    assert (await after.find_by_client_id("to-cancel")).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    await after.close()


async def test_ids_continue_after_a_restart_and_are_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "broker.jsonl"
    await (await _busy_broker(path)).close()  # five orders, two executions
    after = SimulatedBroker(_settings(path), lifetime="after")
    await after.start()
    after.set_price("AAPL", "96")  # the busy broker used up what was available at 95.25
    ack = await after.submit(an_order(client_order_id="after-restart"))
    order = await after.find_by_client_id("after-restart")
    assert (ack.broker_order_id, [f.execution_id for f in order.fills]) == ("sim-after-6", ["sim-exec-after-3"])  # type: ignore[union-attr]
    await after.close()


async def test_state_survives_a_process_that_never_closed_the_broker(tmp_path: Path) -> None:
    path = tmp_path / "broker.jsonl"
    crashed = await _busy_broker(path)  # no close(): every change was already written
    after = SimulatedBroker(_settings(path))
    await after.start()
    assert after.engine.ledger.snapshot() == crashed.engine.ledger.snapshot()
    await after.close()
    await crashed.close()


async def test_start_compacts_the_journal_to_one_account_line_and_one_line_per_order(tmp_path: Path) -> None:
    path = tmp_path / "broker.jsonl"
    broker = SimulatedBroker(_settings(path))
    await broker.start()
    await broker.submit(an_order())
    for cents in range(50):
        broker.set_price("AAPL", f"100.{cents:02d}")
    await broker.close()
    restarted = SimulatedBroker(_settings(path))
    await restarted.start()
    assert len(path.read_text().splitlines()) == 2
    assert restarted.reference_price("AAPL") == D("100.49")
    await restarted.close()


def test_decimals_are_written_as_strings_and_read_back_exactly(tmp_path: Path) -> None:
    facts = [PriceSet("X", D("0.1"), D("1E+2"), at(0)), PriceSet("Y", D("187.250"), None, at(1))]
    path = tmp_path / "j.jsonl"
    path.write_text("".join(journal.encode(f) + "\n" for f in facts))
    read_back = list(journal.read(path))
    assert read_back == facts
    assert [str(f.price) for f in read_back] == ["0.1", "187.250"]
    assert '"price":"0.1"' in path.read_text()


def test_a_torn_last_line_from_a_killed_process_is_ignored(tmp_path: Path) -> None:
    good = journal.encode(PriceSet("X", D("1"), None, at(0)))
    path = tmp_path / "j.jsonl"
    path.write_text(good + "\n" + good[: len(good) // 2])
    assert [f.symbol for f in journal.read(path)] == ["X"]  # type: ignore[union-attr]


def test_damage_before_the_last_line_is_an_error_not_silent_loss(tmp_path: Path) -> None:
    good = journal.encode(PriceSet("X", D("1"), None, at(0)))
    path = tmp_path / "j.jsonl"
    path.write_text(good[:10] + "\n" + good + "\n")
    with pytest.raises(CorruptJournal, match=":1:"):
        list(journal.read(path))


def test_every_kind_of_fact_round_trips_through_the_journal_unchanged() -> None:
    engine = an_engine("100")
    facts = engine.submit(a_spec(order_type=OrderType.STOP_LIMIT, stop="101", limit="102", quantity="1.5"), at(0))
    facts += engine.submit(a_spec(order_type=OrderType.LIMIT, limit="99"), at(1))
    facts += engine.set_price("AAPL", D("101.5"), D("0.5"), at(2))
    facts += engine.cancel("sim-2", "cancelled on request", at(3), silent=True)
    facts += engine.set_position("MSFT", D(3), D("420.5"))
    account, orders = engine.ledger.snapshot()
    facts += [account, *orders]
    assert {type(f).__name__ for f in facts} == set(FACT_KINDS)
    assert [journal.decode(journal.encode(f)) for f in facts] == facts
