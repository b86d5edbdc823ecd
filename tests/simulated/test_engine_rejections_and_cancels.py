"""Orders a broker refuses outright, and what a cancel may and may not do."""

from __future__ import annotations

import dataclasses

import pytest

from execution_server.brokers.base import BrokerRejected, CancelRefused
from execution_server.brokers.simulated.facts import Closed
from execution_server.domain.orders import OrderStatus, OrderType, TimeInForce

from .builders import D, a_spec, an_engine, at, order_of, submitted

REFUSED = {
    "unknown side": dict(side="HOLD"),
    "zero quantity": dict(quantity=D(0)),
    "negative quantity": dict(quantity=D(-5)),
    "float quantity": dict(quantity=10.0),
    "limit without a limit price": dict(order_type=OrderType.LIMIT),
    "stop without a stop price": dict(order_type=OrderType.STOP),
    "stop limit without a limit price": dict(order_type=OrderType.STOP_LIMIT, stop_price=D(10)),
    "stop limit without a stop price": dict(order_type=OrderType.STOP_LIMIT, limit_price=D(10)),
    "non-positive limit price": dict(order_type=OrderType.LIMIT, limit_price=D(0)),
    "unknown time in force": dict(time_in_force="OPG"),
    "empty symbol": dict(symbol=""),
}


@pytest.mark.parametrize("changes", REFUSED.values(), ids=REFUSED.keys())
def test_order_the_broker_cannot_accept_is_rejected_and_not_recorded(changes: dict[str, object]) -> None:
    engine = an_engine()
    spec = dataclasses.replace(a_spec(), **changes)  # type: ignore[arg-type]
    with pytest.raises(BrokerRejected) as refused:
        engine.submit(spec, at(0))
    assert refused.value.broker_status == "rejected"
    assert engine.ledger.orders == {} and engine.ledger.next_order_seq == 1


def test_duplicate_client_order_id_is_rejected_even_after_the_first_order_closed() -> None:
    engine = an_engine()
    first = a_spec(client_order_id="same")
    engine.submit(first, at(0))
    with pytest.raises(BrokerRejected, match="duplicate client_order_id"):
        engine.submit(dataclasses.replace(first, quantity=D(1)), at(1))
    assert len(engine.ledger.orders) == 1


def test_cancel_of_a_resting_order_closes_it_as_canceled() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, order_type=OrderType.LIMIT, limit="90")
    assert engine.cancel(order_id, "cancelled on request", at(1)) == [
        Closed(order_id, "cancelled on request", "canceled", at(1))
    ]
    assert order_id not in engine.ledger.open


def test_cancel_of_a_partly_filled_order_cancels_the_rest_and_keeps_the_fills() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, order_type=OrderType.LIMIT, limit="90", time_in_force=TimeInForce.GTC)
    engine.set_price("AAPL", D("90"), D(3), at(1))
    engine.cancel(order_id, "cancelled on request", at(2))
    order = order_of(engine, order_id)
    assert (order.status, order.filled_quantity, len(order.fills)) == (OrderStatus.CANCELLED, D(3), 1)


def test_cancel_of_a_filled_order_is_refused() -> None:
    engine = an_engine("100")
    order_id = submitted(engine)
    with pytest.raises(CancelRefused, match="already filled"):
        engine.cancel(order_id, "cancelled on request", at(1))


def test_cancel_of_a_cancelled_order_is_refused() -> None:
    engine = an_engine("100")
    order_id = submitted(engine, order_type=OrderType.LIMIT, limit="90")
    engine.cancel(order_id, "cancelled on request", at(1))
    with pytest.raises(CancelRefused, match="already canceled"):
        engine.cancel(order_id, "cancelled on request", at(2))


def test_cancel_of_an_unknown_order_is_refused() -> None:
    with pytest.raises(CancelRefused, match="unknown order sim-404"):
        an_engine().cancel("sim-404", "cancelled on request", at(0))


def test_fill_that_reached_the_engine_before_the_cancel_stands_and_the_cancel_takes_only_the_rest() -> None:
    """The race rule: commands apply in arrival order; a fill is never undone, none follows."""
    engine = an_engine("100")
    order_id = submitted(engine, order_type=OrderType.LIMIT, limit="90", quantity="10")
    engine.set_price("AAPL", D("90"), D(4), at(1))  # the fill wins the race
    engine.cancel(order_id, "cancelled on request", at(2))
    engine.set_price("AAPL", D("80"), None, at(3))
    assert order_of(engine, order_id).filled_quantity == D(4)


def test_cancel_during_the_ack_delay_wins_and_the_order_never_fills() -> None:
    engine = an_engine("100")
    order_id = engine.accept(a_spec(), at(0)).order_id
    engine.cancel(order_id, "cancelled on request", at(1))
    engine.activate(order_id, at(2))
    assert (order_of(engine, order_id).status, order_of(engine, order_id).fills) == (OrderStatus.CANCELLED, ())
