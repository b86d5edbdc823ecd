"""The transition table, exhaustively, and the order's invariants under any event sequence."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.domain.orders import (
    FLAG_EFFECTS,
    TRANSITIONS,
    InvalidFill,
    InvalidTransition,
    OrderEvent,
    OrderStatus,
    transition,
)
from tests.builders import T0, an_order

S, E = OrderStatus, OrderEvent
EXPECTED = {
    (S.PENDING, E.SUBMIT): S.SUBMITTED,
    (S.PENDING, E.REJECT): S.REJECTED,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.PENDING, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PENDING, E.FILL): S.FILLED,
    (S.SUBMITTED, E.REJECT): S.REJECTED,
    (S.SUBMITTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, E.FILL): S.FILLED,
    (S.SUBMITTED, E.CANCEL): S.CANCELLED,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL): S.CANCELLED,
    (S.CANCELLED, E.LATE_FILL): S.CANCELLED,
    (S.PENDING, E.REQUEST_CANCEL): S.PENDING,
    (S.SUBMITTED, E.REQUEST_CANCEL): S.SUBMITTED,
    (S.PARTIALLY_FILLED, E.REQUEST_CANCEL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, E.ACKNOWLEDGE): S.SUBMITTED,
    (S.PARTIALLY_FILLED, E.ACKNOWLEDGE): S.PARTIALLY_FILLED,
    (S.FILLED, E.ACKNOWLEDGE): S.FILLED,
    (S.CANCELLED, E.ACKNOWLEDGE): S.CANCELLED,
}
ALL_PAIRS = list(itertools.product(OrderStatus, OrderEvent))


def test_the_table_is_exactly_the_designed_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("state", "event"), [pair for pair in ALL_PAIRS if pair in EXPECTED])
def test_legal_transition_reaches_its_state(state: OrderStatus, event: OrderEvent) -> None:
    assert transition("o-1", state, event) is EXPECTED[state, event]


@pytest.mark.parametrize(("state", "event"), [pair for pair in ALL_PAIRS if pair not in EXPECTED])
def test_illegal_transition_is_refused_naming_order_state_and_event(state: OrderStatus, event: OrderEvent) -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition("o-42", state, event)
    assert (refused.value.order_id, refused.value.state, refused.value.event) == ("o-42", state, event)
    assert "o-42" in str(refused.value) and state.value in str(refused.value) and event.value in str(refused.value)


@pytest.mark.parametrize("terminal", [S.FILLED, S.CANCELLED, S.REJECTED])
def test_nothing_leaves_a_terminal_state(terminal: OrderStatus) -> None:
    assert not [event for event in OrderEvent if TRANSITIONS.get((terminal, event), terminal) is not terminal]


def test_every_event_says_what_it_does_to_the_flags() -> None:
    assert set(FLAG_EFFECTS) == set(OrderEvent)


def test_a_status_or_a_flag_cannot_be_set_except_by_a_transition() -> None:
    for field in ("status", "in_flight", "cancel_requested"):
        with pytest.raises(TypeError):
            an_order().with_changes(**{field: None})


def test_a_late_fill_is_its_own_row_and_keeps_the_order_cancelled() -> None:
    cancelled = an_order(S.SUBMITTED).cancelled("asked", T0)
    late = cancelled.filled(Decimal("4"), Decimal("100"), T0)
    assert (late.status, late.filled_quantity) == (S.CANCELLED, Decimal("4"))


def test_a_cancel_request_sets_its_flag_and_keeps_the_state() -> None:
    requested = an_order(S.PARTIALLY_FILLED, filled_quantity=Decimal("1")).cancel_requested_at(T0)
    assert (requested.status, requested.cancel_requested) == (S.PARTIALLY_FILLED, True)
    with pytest.raises(InvalidTransition):
        an_order(S.FILLED).cancel_requested_at(T0)


def test_refused_event_leaves_the_order_unchanged() -> None:
    order = an_order(S.FILLED, filled_quantity=Decimal("100"))
    with pytest.raises(InvalidTransition):
        order.rejected("late", T0)
    assert order.status is S.FILLED


def test_partial_then_full_fill_averages_exactly() -> None:
    order = an_order(S.SUBMITTED)
    order = order.filled(Decimal("30"), Decimal("187.25"), T0)
    assert order.status is S.PARTIALLY_FILLED
    order = order.filled(Decimal("70"), Decimal("187.10"), T0)
    assert order.status is S.FILLED
    assert order.average_fill_price == Decimal("187.145")


def test_overfill_is_refused_and_changes_nothing() -> None:
    order = an_order(S.SUBMITTED).filled(Decimal("90"), Decimal("10"), T0)
    with pytest.raises(InvalidFill):
        order.filled(Decimal("11"), Decimal("10"), T0)
    assert order.filled_quantity == Decimal("90")


def test_fill_after_confirmed_cancel_is_recorded_and_order_stays_cancelled() -> None:
    order = an_order(S.SUBMITTED).cancelled("client asked", T0)
    late = order.filled(Decimal("5"), Decimal("10"), T0)
    assert late.status is S.CANCELLED
    assert late.filled_quantity == Decimal("5")


@st.composite
def event_sequences(draw: st.DrawFn) -> list[tuple[str, Decimal]]:
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["submit", "reject", "cancel", "fill"]),
                st.decimals(min_value=Decimal("0.01"), max_value=Decimal("60"), places=2),
            ),
            max_size=25,
        )
    )


@settings(max_examples=300, deadline=None)
@given(event_sequences())
def test_any_event_sequence_keeps_the_invariants(events: list[tuple[str, Decimal]]) -> None:
    order = an_order(S.PENDING)
    fills: list[Decimal] = []
    for kind, quantity in events:
        before = order
        try:
            if kind == "submit":
                order = order.submitted("b-1", "new", T0)
            elif kind == "reject":
                order = order.rejected("no", T0)
            elif kind == "cancel":
                order = order.cancelled("asked", T0)
            else:
                order = order.filled(quantity, Decimal("10"), T0)
                fills.append(quantity)
        except (InvalidTransition, InvalidFill):
            assert order == before
            continue
        if before.status.is_terminal:
            assert order.status is before.status
        assert Decimal(0) <= order.filled_quantity <= order.quantity
        assert order.filled_quantity == sum(fills, Decimal(0))
        if order.status is not S.CANCELLED:
            assert (order.status is S.FILLED) == (order.filled_quantity == order.quantity)
