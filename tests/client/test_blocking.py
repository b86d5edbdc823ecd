"""The blocking twin against a real server running in a thread of its own: the same calls,
models and errors, its order stream, and close() from another thread ending that stream."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from execution_client import BlockingExecutionClient, InvalidArgument, NotFound, Order, OrderUpdate

ORDER = {"symbol": "AAPL", "side": "BUY", "strategy_id": "momentum_v1"}


def filled(client: BlockingExecutionClient, order: Order) -> Order:
    for _ in range(500):
        current = client.get_order(order.order_id)
        if current.status == "FILLED":
            return current
        time.sleep(0.02)
    raise AssertionError(f"never filled: {current}")


def test_place_get_and_fill(blocking_client: BlockingExecutionClient) -> None:
    blocking_client.set_price("AAPL", "187.25")
    order = blocking_client.place_order(**ORDER, quantity=Decimal("0.000001"))
    assert order.quantity == Decimal("0.000001")
    done = filled(blocking_client, order)
    assert done.average_fill_price == Decimal("187.25")
    positions = blocking_client.get_positions("momentum_v1")
    assert [(p.symbol, p.quantity) for p in positions] == [("AAPL", Decimal("0.000001"))]
    assert blocking_client.get_account().cash < Decimal("1000000000")


def test_list_orders_follows_the_pages(blocking_client: BlockingExecutionClient) -> None:
    placed = {blocking_client.place_order(**ORDER, quantity=1).order_id for _ in range(5)}
    listed = [order.order_id for order in blocking_client.list_orders(page_size=2)]
    assert sorted(listed) == sorted(placed)


def test_errors_and_floats(blocking_client: BlockingExecutionClient) -> None:
    with pytest.raises(TypeError, match="quantity"):
        blocking_client.place_order(**ORDER, quantity=1.5)
    with pytest.raises(InvalidArgument) as raised:
        blocking_client.place_order(**{**ORDER, "symbol": "BAD SYMBOL"}, quantity=1)
    assert [v.field for v in raised.value.violations] == ["symbol"]
    with pytest.raises(NotFound):
        blocking_client.cancel_order(client_order_id="never-placed")


def test_the_other_calls(blocking_client: BlockingExecutionClient) -> None:
    assert blocking_client.reconcile().has_discrepancies is False
    assert blocking_client.list_reconcile_runs(limit=1)[0].run_id >= 1
    assert blocking_client.get_risk_status().trading_state == "ACTIVE"
    assert blocking_client.set_kill_switch(True, reason="test").trading_state == "HALTED"
    assert blocking_client.set_kill_switch(False).trading_state == "ACTIVE"
    assert blocking_client.get_risk_limits().limits
    assert [a.action for a in blocking_client.list_operator_actions(limit=2)] == ["SetKillSwitch", "SetKillSwitch"]
    blocking_client.set_broker_position("MSFT", 3, "400")
    assert blocking_client.close_session() == []
    blocking_client.lose_events(1)


def test_the_stream_delivers_an_orders_updates_and_ends_when_closed(threaded_address: str) -> None:
    received: list[OrderUpdate] = []
    client = BlockingExecutionClient(threaded_address)
    filled_seen = threading.Event()
    failures: list[BaseException] = []

    def consume() -> None:
        try:
            for update in client.stream_order_updates(strategy_id="momentum_v1"):
                received.append(update)
                if update.order is not None and update.order.status == "FILLED":
                    filled_seen.set()
        except BaseException as error:  # the test's thread asserts there was none
            failures.append(error)

    reader = threading.Thread(target=consume)
    reader.start()
    with BlockingExecutionClient(threaded_address) as trader:
        order = trader.place_order(**ORDER, quantity=2)
    assert filled_seen.wait(30)
    client.close()
    reader.join(30)
    assert not reader.is_alive() and failures == []  # close() ended the iteration, without an exception
    mine = [u for u in received if u.order is not None and u.order.order_id == order.order_id]
    assert mine[0].event_type == "placed" and mine[-1].order is not None and mine[-1].order.status == "FILLED"
    fills = [u.fill for u in mine if u.fill is not None]
    assert sum(f.quantity for f in fills) == Decimal(2)
    sequences = [u.sequence for u in received]
    assert sequences == sorted(set(sequences))
