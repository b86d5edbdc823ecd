"""Broker ids never repeat across the simulated broker's lifetimes, even when its journal is gone:
the service's database outlives it and holds every id it ever handed out."""

from __future__ import annotations

from pathlib import Path

from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings

from .builders import D, an_order

# Written by the broker before ids carried a lifetime: one order filled, one resting, then
# events appended after the compacted snapshot.
LEGACY_JOURNAL = """\
{"k":"account","cash":"999800","next_order_seq":2,"next_execution_seq":2,"prices":[],"positions":[["AAPL","2","100"]]}
{"k":"order","seq":1,"client_order_id":"old-1","symbol":"AAPL","side":"BUY","order_type":"MARKET","time_in_force":"DAY","quantity":"2","limit_price":null,"stop_price":null,"accepted_at":"2026-03-02T14:30:00+00:00","filled_quantity":"2","average_fill_price":"100","broker_status":"filled","reason":"","active":true,"triggered":false,"fills":[["sim-exec-1","2","100","2026-03-02T14:30:00+00:00"]]}
{"k":"accepted","seq":2,"client_order_id":"old-2","symbol":"AAPL","side":"BUY","order_type":"LIMIT","time_in_force":"DAY","quantity":"1","limit_price":"90","stop_price":null,"at":"2026-03-02T14:30:01+00:00"}
{"k":"activated","order_id":"sim-2","at":"2026-03-02T14:30:01+00:00"}
"""


async def _ids_of_one_lifetime(state_path: Path | None) -> tuple[str, list[str]]:
    """Start a broker, fill one order, stop: its broker order id and execution ids."""
    broker = SimulatedBroker(SimulatorSettings(reference_prices={"AAPL": D(100)}, state_path=state_path))
    await broker.start()
    try:
        ack = await broker.submit(an_order(client_order_id="same-client-id", quantity="3"))
        found = await broker.find_by_client_id("same-client-id")
        assert found is not None
        return ack.broker_order_id, [fill.execution_id for fill in found.fills]
    finally:
        await broker.close()


async def test_two_memory_only_lifetimes_never_hand_out_the_same_ids() -> None:
    first = await _ids_of_one_lifetime(None)
    second = await _ids_of_one_lifetime(None)
    assert first[0] != second[0]
    assert first[1] and second[1] and not set(first[1]) & set(second[1])


async def test_a_broker_whose_journal_is_gone_never_hands_out_an_earlier_lifetimes_ids(tmp_path: Path) -> None:
    first = await _ids_of_one_lifetime(tmp_path / "broker.jsonl")
    (tmp_path / "broker.jsonl").unlink()
    second = await _ids_of_one_lifetime(tmp_path / "broker.jsonl")
    third = await _ids_of_one_lifetime(tmp_path / "elsewhere.jsonl")
    assert len({first[0], second[0], third[0]}) == 3
    executions = first[1] + second[1] + third[1]
    assert len(executions) == len(set(executions)) == 3


async def test_journaled_orders_keep_their_ids_in_the_next_lifetime(tmp_path: Path) -> None:
    path = tmp_path / "broker.jsonl"
    before = await _ids_of_one_lifetime(path)
    after = SimulatedBroker(SimulatorSettings(state_path=path))
    await after.start()
    found = await after.find_by_client_id("same-client-id")
    assert found is not None
    assert (found.broker_order_id, [fill.execution_id for fill in found.fills]) == before
    await after.close()


async def test_a_journal_from_before_lifetimes_replays_with_its_old_ids(tmp_path: Path) -> None:
    path = tmp_path / "broker.jsonl"
    path.write_text(LEGACY_JOURNAL)
    broker = SimulatedBroker(SimulatorSettings(reference_prices={"AAPL": D(100)}, state_path=path))
    await broker.start()
    filled, resting = await broker.find_by_client_id("old-1"), await broker.find_by_client_id("old-2")
    assert filled is not None and resting is not None
    assert (filled.broker_order_id, [f.execution_id for f in filled.fills]) == ("sim-1", ["sim-exec-1"])
    assert resting.broker_order_id == "sim-2" and [o.broker_order_id for o in await broker.open_orders()] == ["sim-2"]
    ack = await broker.submit(an_order(client_order_id="new-1"))
    assert ack.broker_order_id not in ("sim-1", "sim-2", "sim-3")
    await broker.close()
    restarted = SimulatedBroker(SimulatorSettings(state_path=path))  # compacted in the new format
    await restarted.start()
    assert [o.broker_order_id for o in await restarted.open_orders()] == ["sim-2"]
    new = await restarted.find_by_client_id("new-1")
    assert new is not None and new.broker_order_id == ack.broker_order_id
    await restarted.close()
