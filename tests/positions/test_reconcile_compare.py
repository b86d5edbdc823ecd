"""The pure diff: every kind of discrepancy, and the cases that are not one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from execution_server.domain.orders import OrderStatus, Side
from execution_server.reconcile.compare import (
    Discrepancy,
    DiscrepancyKind,
    ReconciliationResult,
    compare_orders,
    compare_positions,
    orders_to_look_up,
    reconcile,
)

from .builders import a_broker_order, a_broker_position, an_order

K = DiscrepancyKind
D = Decimal
S = OrderStatus
NOW = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)


# --- positions ---


def test_agreeing_positions_make_no_discrepancy() -> None:
    broker = [a_broker_position("AAPL", "10"), a_broker_position("MSFT", "-5")]
    assert compare_positions({"AAPL": D(10), "MSFT": D(-5)}, broker) == []


def test_a_different_quantity_is_reported_with_both_sides() -> None:
    assert compare_positions({"AAPL": D(90)}, [a_broker_position("AAPL", "100")]) == [
        Discrepancy(K.POSITION_QUANTITY, symbol="AAPL", local_quantity="90", broker_quantity="100")
    ]


def test_a_short_here_against_a_long_there_is_a_quantity_discrepancy() -> None:
    (found,) = compare_positions({"AAPL": D(-10)}, [a_broker_position("AAPL", "10")])
    assert (found.kind, found.local_quantity, found.broker_quantity) == (K.POSITION_QUANTITY, "-10", "10")


def test_a_position_only_at_the_broker_is_missing_locally() -> None:
    assert compare_positions({}, [a_broker_position("TSLA", "2.5")]) == [
        Discrepancy(K.POSITION_MISSING_LOCALLY, symbol="TSLA", local_quantity="0", broker_quantity="2.5")
    ]


def test_a_position_only_here_is_missing_at_the_broker() -> None:
    assert compare_positions({"TSLA": D("-3")}, []) == [
        Discrepancy(K.POSITION_MISSING_AT_BROKER, symbol="TSLA", local_quantity="-3", broker_quantity="0")
    ]


def test_a_flat_position_here_counts_as_absent() -> None:
    assert compare_positions({"AAPL": D(0)}, []) == []
    (found,) = compare_positions({"AAPL": D("0.00")}, [a_broker_position("AAPL", "7")])
    assert found.kind is K.POSITION_MISSING_LOCALLY


def test_a_flat_position_at_the_broker_counts_as_absent() -> None:
    assert compare_positions({}, [a_broker_position("AAPL", "0")]) == []


def test_quantities_equal_as_numbers_agree_whatever_their_notation() -> None:
    assert compare_positions({"AAPL": D("10.000")}, [a_broker_position("AAPL", "1E+1")]) == []


# --- orders, both sides open ---


def test_an_open_order_known_to_both_with_the_same_state_agrees() -> None:
    assert compare_orders([an_order("c-1", filled="0")], [a_broker_order("c-1")], {}) == []


def test_different_statuses_of_an_open_order_are_reported() -> None:
    found = compare_orders(
        [an_order("c-1", status=S.SUBMITTED)],
        [a_broker_order("c-1", status=S.PARTIALLY_FILLED, filled="4", quantity="10")],
        {},
    )
    assert [(d.kind, d.order_id, d.client_order_id) for d in found] == [
        (K.ORDER_STATUS, "o-c-1", "c-1"),
        (K.ORDER_FILLED_QUANTITY, "o-c-1", "c-1"),
    ]
    assert "SUBMITTED" in found[0].detail and "PARTIALLY_FILLED" in found[0].detail
    assert (found[1].local_quantity, found[1].broker_quantity) == ("0", "4")


def test_a_different_filled_quantity_alone_is_reported() -> None:
    (found,) = compare_orders(
        [an_order("c-1", status=S.PARTIALLY_FILLED, filled="2")],
        [a_broker_order("c-1", status=S.PARTIALLY_FILLED, filled="3")],
        {},
    )
    assert (found.kind, found.local_quantity, found.broker_quantity) == (K.ORDER_FILLED_QUANTITY, "2", "3")


def test_a_pending_order_in_flight_that_the_broker_lists_as_submitted_is_no_discrepancy() -> None:
    """Its acknowledgement is on its way here: under load every run would otherwise report one."""
    assert compare_orders([an_order("c-1", status=S.PENDING, in_flight=True)], [a_broker_order("c-1")], {}) == []


def test_a_pending_order_in_flight_that_the_broker_has_filled_is_a_status_discrepancy() -> None:
    filled = a_broker_order("c-1", status=S.FILLED, filled="10", broker_status="filled")
    found = compare_orders([an_order("c-1", status=S.PENDING, in_flight=True)], [filled], {})
    assert [d.kind for d in found] == [K.ORDER_STATUS, K.ORDER_FILLED_QUANTITY] and "in flight" in found[0].detail


# --- orders open here only ---


def test_an_open_order_closed_at_the_broker_is_a_status_discrepancy_with_its_fills() -> None:
    closed = a_broker_order("c-1", status=S.FILLED, filled="10", broker_status="filled")
    found = compare_orders([an_order("c-1", status=S.SUBMITTED)], [], {"c-1": closed})
    assert [d.kind for d in found] == [K.ORDER_STATUS, K.ORDER_FILLED_QUANTITY]
    assert "FILLED (filled)" in found[0].detail


def test_an_open_order_cancelled_at_the_broker_with_nothing_filled_is_only_a_status_discrepancy() -> None:
    cancelled = a_broker_order("c-1", status=S.CANCELLED, broker_status="expired")
    (found,) = compare_orders([an_order("c-1")], [], {"c-1": cancelled})
    assert found.kind is K.ORDER_STATUS


def test_an_open_order_the_broker_never_heard_of_is_missing_at_the_broker() -> None:
    assert compare_orders([an_order("c-1", quantity="7")], [], {"c-1": None}) == [
        Discrepancy(
            K.ORDER_MISSING_AT_BROKER,
            symbol="AAPL",
            local_quantity="7",
            order_id="o-c-1",
            client_order_id="c-1",
            detail="SUBMITTED here, unknown at the broker",
        )
    ]


def test_an_order_not_looked_up_counts_as_unknown_at_the_broker() -> None:
    (found,) = compare_orders([an_order("c-1")], [], {})
    assert found.kind is K.ORDER_MISSING_AT_BROKER


def test_a_pending_order_in_flight_unknown_at_the_broker_is_on_its_way_not_missing() -> None:
    """The OMS settles it: by the broker's answer, or by client order id when none comes."""
    assert compare_orders([an_order("c-1", status=S.PENDING, in_flight=True)], [], {"c-1": None}) == []


def test_a_pending_order_never_sent_is_not_a_discrepancy() -> None:
    assert compare_orders([an_order("c-1", status=S.PENDING, in_flight=False)], [], {}) == []


def test_a_pending_order_not_in_flight_that_the_broker_has_anyway_is_reported() -> None:
    (found,) = compare_orders([an_order("c-1", status=S.PENDING)], [a_broker_order("c-1")], {})
    assert found.kind is K.ORDER_STATUS


def test_an_open_order_the_lookup_finds_still_open_is_compared_as_open() -> None:
    still_open = a_broker_order("c-1", status=S.SUBMITTED)
    assert compare_orders([an_order("c-1")], [], {"c-1": still_open}) == []


def test_only_open_orders_that_may_have_been_sent_and_are_not_listed_are_looked_up() -> None:
    local = [
        an_order("listed"),
        an_order("unlisted"),
        an_order("in-flight", status=S.PENDING, in_flight=True),
        an_order("never-sent", status=S.PENDING),
        an_order("closed", status=S.CANCELLED),
    ]
    assert orders_to_look_up(local, [a_broker_order("listed")]) == ["unlisted", "in-flight"]


# --- orders open at the broker only ---


def test_an_open_order_at_the_broker_unknown_here_is_reported_with_its_ids() -> None:
    (found,) = compare_orders([], [a_broker_order("ext-9", symbol="MSFT", side=Side.SELL, quantity="3")], {})
    assert (found.kind, found.symbol, found.order_id, found.client_order_id, found.broker_quantity) == (
        K.ORDER_UNKNOWN_LOCALLY,
        "MSFT",
        "",
        "ext-9",
        "3",
    )
    assert "b-ext-9" in found.detail and "SELL" in found.detail


def test_an_order_closed_here_but_open_at_the_broker_is_a_status_discrepancy_not_an_unknown_order() -> None:
    (found,) = compare_orders([an_order("c-1", status=S.CANCELLED)], [a_broker_order("c-1")], {})
    assert found.kind is K.ORDER_STATUS and found.order_id == "o-c-1"


def test_an_order_closed_on_both_sides_is_not_compared() -> None:
    assert compare_orders([an_order("c-1", status=S.FILLED, filled="10")], [], {}) == []


# --- the whole result ---


def test_a_clean_reconciliation_has_no_discrepancies() -> None:
    result = reconcile(
        {"AAPL": D(10)}, [an_order("c-1")], [a_broker_position("AAPL", "10")], [a_broker_order("c-1")], {}, NOW
    )
    assert result == ReconciliationResult(discrepancies=(), checked_at=NOW)
    assert not result.has_discrepancies


def test_discrepancies_come_sorted_by_kind_then_symbol_then_order() -> None:
    result = reconcile(
        local_positions={"TSLA": D(1), "AAPL": D(5)},
        local_open_orders=[an_order("c-2", symbol="MSFT"), an_order("c-1", symbol="MSFT")],
        broker_positions=[a_broker_position("MSFT", "4"), a_broker_position("AAPL", "6")],
        broker_open_orders=[a_broker_order("x-1", symbol="AAPL")],
        broker_lookup={"c-1": None, "c-2": None},
        now=NOW,
    )
    assert result.has_discrepancies
    assert [(d.kind, d.symbol, d.order_id or d.client_order_id) for d in result.discrepancies] == [
        (K.POSITION_QUANTITY, "AAPL", ""),
        (K.POSITION_MISSING_LOCALLY, "MSFT", ""),
        (K.POSITION_MISSING_AT_BROKER, "TSLA", ""),
        (K.ORDER_UNKNOWN_LOCALLY, "AAPL", "x-1"),
        (K.ORDER_MISSING_AT_BROKER, "MSFT", "o-c-1"),
        (K.ORDER_MISSING_AT_BROKER, "MSFT", "o-c-2"),
    ]
    assert result.of_kind(K.ORDER_MISSING_AT_BROKER) == result.discrepancies[4:]
    assert result.checked_at == NOW
