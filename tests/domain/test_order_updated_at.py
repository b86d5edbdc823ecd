"""An order's updated_at never decreases, whatever the times its events carry (a broker's fill
time earlier than the last update, a wall clock stepped back)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.domain.orders import InvalidFill, InvalidTransition, OrderStatus
from tests.builders import T0, an_order

EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["submit", "reject", "cancel", "fill"]),
        st.integers(min_value=-86_400, max_value=86_400),  # seconds from T0, either way
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("60"), places=2),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(EVENTS)
def test_updated_at_never_decreases_across_any_sequence_of_events(events: list[tuple[str, int, Decimal]]) -> None:
    order = an_order(OrderStatus.PENDING)
    for kind, offset, quantity in events:
        at = T0 + timedelta(seconds=offset)
        before = order
        try:
            if kind == "submit":
                order = order.submitted("b-1", "new", at)
            elif kind == "reject":
                order = order.rejected("no", at)
            elif kind == "cancel":
                order = order.cancelled("asked", at)
            else:
                order = order.filled(quantity, Decimal("10"), at)
        except (InvalidTransition, InvalidFill):
            continue
        assert order.updated_at >= before.updated_at
        assert order.updated_at == max(before.updated_at, at)
