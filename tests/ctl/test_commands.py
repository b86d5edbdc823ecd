"""Each one-shot command of execution-ctl run as a subprocess against a real server: what it
prints and the exit code a script would read."""

from __future__ import annotations

import json
from decimal import Decimal

from execution_client import BlockingExecutionClient, Order
from tests.ctl.kit import ctl
from tests.process import free_port, wait_until

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def a_market_order(service: BlockingExecutionClient, **fields: object) -> Order:
    order = service.place_order(**{"symbol": "AAPL", "side": "BUY", "quantity": "10", "strategy_id": "momentum_v1",
                                   **fields})
    wait_until(lambda: service.get_order(order.order_id).status == "FILLED")
    return service.get_order(order.order_id)


def a_resting_order(service: BlockingExecutionClient, **fields: object) -> Order:
    order = service.place_order(**{
        "symbol": "AAPL", "side": "BUY", "quantity": "0.000001", "order_type": "LIMIT", "limit_price": "100.5",
        "time_in_force": "GTC", "strategy_id": "momentum_v1", **fields,
    })
    wait_until(lambda: service.get_order(order.order_id).status == "SUBMITTED")
    return order


def rows_of(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().split("\n")[1:]]


def test_orders_lists_each_order_with_the_decimals_the_server_sent(address: str, service: BlockingExecutionClient) -> None:
    filled, resting = a_market_order(service), a_resting_order(service)
    ran = ctl(address, "orders")
    assert ran.code == 0, ran.err
    by_id = {row[0]: row for row in rows_of(ran.out)}
    assert set(by_id) == {filled.order_id, resting.order_id}
    assert by_id[resting.order_id][4:8] == ["LIMIT", "0.000001", "100.5", "SUBMITTED"]
    assert by_id[filled.order_id][4:6] == ["MARKET", "10"] and "FILLED" in by_id[filled.order_id]


def test_orders_filters_by_status_strategy_and_symbol(address: str, service: BlockingExecutionClient) -> None:
    filled, resting = a_market_order(service), a_resting_order(service)
    a_resting_order(service, strategy_id="pairs", symbol="MSFT", limit_price="300")
    ran = ctl(address, "orders", "--status", "OPEN", "--strategy", "momentum_v1", "--json")
    assert ran.code == 0, ran.err
    listed = json.loads(ran.out)
    assert [o["order_id"] for o in listed] == [resting.order_id]
    assert listed[0]["quantity"] == "0.000001" and listed[0]["limit_price"] == "100.5"
    assert [o["order_id"] for o in json.loads(ctl(address, "--json", "orders", "--status", "filled").out)] == [filled.order_id]
    assert [o["symbol"] for o in json.loads(ctl(address, "orders", "--symbol", "MSFT", "--json").out)] == ["MSFT"]
    nothing = ctl(address, "orders", "--strategy", "nobody")
    assert (nothing.code, nothing.out.strip()) == (0, "(no orders)")


def test_orders_limit_shows_at_most_that_many(address: str, service: BlockingExecutionClient) -> None:
    for _ in range(3):
        a_resting_order(service)
    ran = ctl(address, "orders", "--limit", "2", "--json")
    assert ran.code == 0 and len(json.loads(ran.out)) == 2


def test_order_shows_every_field_of_one_order(address: str, service: BlockingExecutionClient) -> None:
    filled = a_market_order(service, client_order_id="ops-check-1")
    ran = ctl(address, "order", filled.order_id)
    assert ran.code == 0, ran.err
    fields = dict(line.split(":", 1) for line in ran.out.strip().split("\n"))
    assert fields["order_id"].strip() == filled.order_id
    assert fields["client_order_id"].strip() == "ops-check-1"
    assert fields["status"].strip() == "FILLED" and fields["filled_quantity"].strip() == "10"
    assert fields["created_at"].strip().endswith("Z")


def test_an_unknown_order_exits_3(address: str) -> None:
    ran = ctl(address, "order", UNKNOWN_ID)
    assert ran.code == 3 and "NOT_FOUND" in ran.err and ran.out == ""
    assert ctl(address, "cancel", UNKNOWN_ID).code == 3


def test_a_malformed_order_id_exits_5_with_the_violation_on_its_own_line(address: str) -> None:
    ran = ctl(address, "order", "not-an-id")
    assert ran.code == 5
    lines = ran.err.strip().split("\n")
    assert lines[0] == "execution-ctl: INVALID_ARGUMENT"
    assert lines[1].startswith("  order_id: ")


def test_cancel_asks_the_broker_and_the_order_ends_cancelled(address: str, service: BlockingExecutionClient) -> None:
    resting = a_resting_order(service)
    ran = ctl(address, "cancel", resting.order_id)
    assert ran.code == 0, ran.err
    assert resting.order_id in ran.out
    wait_until(lambda: service.get_order(resting.order_id).status == "CANCELLED")
    assert "CANCELLED" in ctl(address, "orders", "--status", "CANCELLED").out


def test_cancelling_a_filled_order_exits_5(address: str, service: BlockingExecutionClient) -> None:
    filled = a_market_order(service)
    ran = ctl(address, "cancel", filled.order_id)
    assert ran.code == 5 and "FAILED_PRECONDITION" in ran.err and "FILLED" in ran.err
    assert service.get_order(filled.order_id).status == "FILLED"


def test_positions_of_the_account_and_of_a_strategy(address: str, service: BlockingExecutionClient) -> None:
    service.set_price("AAPL", "187.125")
    a_market_order(service)
    ran = ctl(address, "positions")
    assert ran.code == 0, ran.err
    assert ran.out.split("\n")[0] == "account positions (every strategy)"
    assert rows_of(ran.out.split("\n", 1)[1]) == [["AAPL", "10", "187.125", "0"]]
    mine = json.loads(ctl(address, "positions", "--strategy", "momentum_v1", "--json").out)
    assert mine == [{"symbol": "AAPL", "quantity": "10", "average_entry_price": "187.125", "realized_pnl": "0",
                     "strategy_id": "momentum_v1"}]
    assert "(no positions)" in ctl(address, "positions", "--strategy", "nobody").out


def test_kill_switch_on_and_off_with_a_reason(address: str, service: BlockingExecutionClient) -> None:
    shown = ctl(address, "kill-switch")
    assert shown.code == 0 and "trading_state:       ACTIVE" in shown.out
    on = ctl(address, "kill-switch", "on", "--reason", "desk halt")
    assert on.code == 0, on.err
    assert "kill_switch_engaged: yes" in on.out and "HALTED" in on.out
    status = service.get_risk_status()
    assert status.kill_switch_engaged and status.kill_switch_reason == "desk halt"
    assert service.place_order(symbol="AAPL", side="BUY", quantity=1, strategy_id="momentum_v1").status == "REJECTED"
    off = ctl(address, "kill-switch", "off", "--reason", "resumed")
    assert off.code == 0 and "ACTIVE" in off.out
    assert not service.get_risk_status().kill_switch_engaged


def test_kill_switch_on_cancels_open_orders_when_asked(address: str, service: BlockingExecutionClient) -> None:
    resting = a_resting_order(service)
    ran = ctl(address, "kill-switch", "on", "--reason", "flatten", "--cancel-open-orders", "--json")
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["cancelled_order_ids"] == [resting.order_id]


def test_kill_switch_without_a_reason_is_a_usage_error_and_changes_nothing(address: str, service: BlockingExecutionClient) -> None:
    ran = ctl(address, "kill-switch", "on")
    assert ran.code == 2 and "--reason" in ran.err
    assert not service.get_risk_status().kill_switch_engaged


def test_reconcile_exits_0_when_clean_and_1_on_discrepancies(address: str, service: BlockingExecutionClient) -> None:
    a_market_order(service)
    clean = ctl(address, "reconcile")
    assert clean.code == 0, clean.err
    assert "no discrepancies" in clean.out
    service.set_broker_position("MSFT", "5", "410")  # a position only the broker holds
    found = ctl(address, "reconcile")
    assert found.code == 1, found.err
    assert "discrepancies found" in found.out
    assert any("MSFT" in row and "5" in row for row in rows_of(found.out.split("\n", 1)[1]))
    as_json = json.loads(ctl(address, "reconcile", "--json").out)
    assert as_json["has_discrepancies"] is True and as_json["discrepancies"][0]["symbol"] == "MSFT"


def test_reconcile_repair_then_a_clean_run(address: str, service: BlockingExecutionClient) -> None:
    service.set_broker_position("MSFT", "5", "410")
    repaired = ctl(address, "reconcile", "--repair")
    assert repaired.code == 1 and "repair yes" in repaired.out  # found (and repaired): still worth an alert
    again = ctl(address, "reconcile")
    assert again.code == 0, again.out


def test_an_unreachable_server_exits_6() -> None:
    ran = ctl(f"127.0.0.1:{free_port()}", "--timeout", "5", "orders")
    assert ran.code == 6 and "UNAVAILABLE" in ran.err


def test_a_usage_error_exits_2_from_the_process(address: str) -> None:
    ran = ctl(address, "orders", "--status", "DONE")
    assert ran.code == 2 and "unknown status 'DONE'" in ran.err


def test_help_documents_the_exit_codes(address: str) -> None:
    ran = ctl(address, "--help")
    assert ran.code == 0
    for line in ("0  ok", "1  reconcile found discrepancies", "2  usage error", "3  not found",
                 "4  unauthenticated or permission denied", "6  server unavailable or deadline exceeded"):
        assert line in ran.out
    assert "EXECUTION_TOKEN" in ran.out and "EXECUTION_ADDRESS" in ran.out


def test_money_in_json_is_never_a_float(address: str, service: BlockingExecutionClient) -> None:
    # Past every risk limit, so REJECTED: listed all the same, with the digits it was sent with.
    service.place_order(symbol="AAPL", side="BUY", quantity="123456789012345678901234.000000000001",
                        order_type="LIMIT", limit_price="0.000000000001", strategy_id="momentum_v1")
    listed = json.loads(ctl(address, "orders", "--json").out, parse_float=Decimal)
    assert listed[0]["quantity"] == "123456789012345678901234.000000000001"
    assert listed[0]["limit_price"] == "0.000000000001"
