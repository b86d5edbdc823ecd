"""Each order type under each time in force: filled, partly filled, cancelled.

Buy orders of 10 on a symbol that starts at 103. Per type: the fields of the order, a price
at which it cannot fill yet, and a price at which it can (and the price it then fills at).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from execution_server.brokers.simulated.engine import SESSION_CLOSE_REASON
from execution_server.domain.orders import OrderStatus, OrderType, TimeInForce

from .builders import D, an_engine, at, fills_in, order_of, submitted

STARTING_PRICE = "103"


@dataclass(frozen=True)
class Case:
    order_type: OrderType
    fields: dict[str, str]
    idle_price: str  # nothing fills (for MARKET: nothing is available)
    executable_price: str

    @property
    def idle_available(self) -> str | None:
        return "0" if self.order_type is OrderType.MARKET else None


CASES = [
    Case(OrderType.MARKET, {}, "103", "101"),
    Case(OrderType.LIMIT, {"limit": "100"}, "101", "99.5"),
    Case(OrderType.STOP, {"stop": "105"}, "104", "105"),
    Case(OrderType.STOP_LIMIT, {"stop": "105", "limit": "106"}, "104", "105.5"),
]
RESTING = [TimeInForce.DAY, TimeInForce.GTC]
AT_ONCE = [TimeInForce.IOC, TimeInForce.FOK]


def _resting(case: Case, tif: TimeInForce):
    engine = an_engine(STARTING_PRICE)
    engine.set_price("AAPL", D(case.idle_price), None if case.idle_available is None else D(0), at(1))
    order_id = submitted(engine, order_type=case.order_type, time_in_force=tif, **case.fields)
    assert order_of(engine, order_id).status is OrderStatus.SUBMITTED
    return engine, order_id


@pytest.mark.parametrize("tif", RESTING, ids=lambda t: t.value)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_resting_order_fills_when_the_price_reaches_it(case: Case, tif: TimeInForce) -> None:
    engine, order_id = _resting(case, tif)
    engine.set_price("AAPL", D(case.executable_price), None, at(1))
    order = order_of(engine, order_id)
    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        OrderStatus.FILLED, D(10), D(case.executable_price),
    )  # fmt: skip


@pytest.mark.parametrize("tif", RESTING, ids=lambda t: t.value)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_resting_order_fills_only_the_available_quantity_and_stays_open(case: Case, tif: TimeInForce) -> None:
    engine, order_id = _resting(case, tif)
    engine.set_price("AAPL", D(case.executable_price), D(4), at(1))
    order = order_of(engine, order_id)
    assert (order.status, order.broker_status, order.filled_quantity) == (
        OrderStatus.PARTIALLY_FILLED, "partially_filled", D(4),
    )  # fmt: skip
    assert order_id in engine.ledger.open


@pytest.mark.parametrize("tif", RESTING, ids=lambda t: t.value)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_resting_order_is_cancelled_on_request_and_never_fills_after(case: Case, tif: TimeInForce) -> None:
    engine, order_id = _resting(case, tif)
    engine.cancel(order_id, "cancelled on request", at(1))
    assert fills_in(engine.set_price("AAPL", D(case.executable_price), None, at(2))) == []
    order = order_of(engine, order_id)
    assert (order.status, order.broker_status, order.filled_quantity) == (OrderStatus.CANCELLED, "canceled", D(0))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_day_order_expires_at_session_close_with_the_reason(case: Case) -> None:
    engine, order_id = _resting(case, TimeInForce.DAY)
    engine.close_session(at(1))
    order = order_of(engine, order_id)
    assert (order.status, order.broker_status, order.reason) == (OrderStatus.CANCELLED, "expired", SESSION_CLOSE_REASON)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_gtc_order_survives_session_close(case: Case) -> None:
    engine, order_id = _resting(case, TimeInForce.GTC)
    engine.close_session(at(1))
    engine.set_price("AAPL", D(case.executable_price), None, at(1))
    assert order_of(engine, order_id).status is OrderStatus.FILLED


def _at_once(case: Case, tif: TimeInForce, price: str, available: str | None):
    engine = an_engine(STARTING_PRICE)
    engine.set_price("AAPL", D(price), None if available is None else D(available), at(1))
    order_id = submitted(engine, order_type=case.order_type, time_in_force=tif, **case.fields)
    return engine, order_of(engine, order_id)


@pytest.mark.parametrize("tif", AT_ONCE, ids=lambda t: t.value)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_ioc_and_fok_fill_whole_when_everything_is_available_at_once(case: Case, tif: TimeInForce) -> None:
    _, order = _at_once(case, tif, case.executable_price, None)
    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        OrderStatus.FILLED, D(10), D(case.executable_price),
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_ioc_fills_what_it_can_at_once_and_cancels_the_rest(case: Case) -> None:
    engine, order = _at_once(case, TimeInForce.IOC, case.executable_price, "4")
    assert (order.status, order.filled_quantity, order.reason) == (
        OrderStatus.CANCELLED, D(4), "IOC: unfilled remainder cancelled",
    )  # fmt: skip
    assert fills_in(engine.set_price("AAPL", D(case.executable_price), None, at(2))) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_fok_that_cannot_fill_whole_at_once_is_cancelled_whole(case: Case) -> None:
    _, order = _at_once(case, TimeInForce.FOK, case.executable_price, "9.99")
    assert (order.status, order.filled_quantity, order.fills) == (OrderStatus.CANCELLED, D(0), ())


@pytest.mark.parametrize("tif", AT_ONCE, ids=lambda t: t.value)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.order_type.value)
def test_ioc_and_fok_that_cannot_fill_at_once_are_cancelled_and_never_fill_later(case: Case, tif: TimeInForce) -> None:
    engine, order = _at_once(case, tif, case.idle_price, case.idle_available)
    assert (order.status, order.filled_quantity) == (OrderStatus.CANCELLED, D(0))
    assert fills_in(engine.set_price("AAPL", D(case.executable_price), None, at(2))) == []
