"""The mapping tables against alpaca-py's own enums, and the conversions against ALPACA_API.md's
payloads, exactly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.enums import OrderType as AlpacaType
from alpaca.trading.enums import TimeInForce as AlpacaTimeInForce
from alpaca.trading.enums import TradeEvent
from alpaca.trading.models import Order as AlpacaOrder

from execution_server.brokers.alpaca import mapping
from execution_server.brokers.alpaca.mapping import (
    OPEN,
    ORDER_STATUSES,
    TRADE_EVENTS,
    MalformedPayload,
    Reaction,
    UnmappedValue,
    broker_order_from,
    event_from,
    order_request_for,
    progress_of,
    status_of,
)
from execution_server.brokers.base import BrokerRejected, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from execution_server.domain.orders import OrderStatus, OrderType, Side, TimeInForce
from tests.alpaca.payloads import FILL_EVENT, ORDER, an_event, an_order_json
from tests.builders import an_order

# Alpaca documents these trade_updates events; alpaca-py's TradeEvent lacks them (§5.2).
DOC_ONLY_EVENTS = (
    "done_for_day", "stopped", "calculated", "suspended", "order_replace_rejected",
    "order_cancel_rejected", "pending_cancel", "pending_replace", "restated",
)


# --- the tables are complete ---


def test_every_alpaca_order_status_is_mapped() -> None:
    assert set(ORDER_STATUSES) == set(AlpacaStatus)
    assert len(ORDER_STATUSES) == 18
    for rule in ORDER_STATUSES.values():
        assert rule.ours == OPEN or isinstance(rule.ours, OrderStatus)
        assert rule.why


def test_every_trade_event_of_the_sdk_and_of_the_documentation_is_mapped() -> None:
    assert set(TRADE_EVENTS) == {event.value for event in TradeEvent} | set(DOC_ONLY_EVENTS)
    for rule in TRADE_EVENTS.values():
        assert rule.why


_CLOSING = {Reaction.CANCELLED: OrderStatus.CANCELLED, Reaction.REJECTED: OrderStatus.REJECTED}


@pytest.mark.parametrize("event", sorted(TRADE_EVENTS))
def test_an_event_and_the_status_it_carries_agree(event: str) -> None:
    """An event that closes an order closes it as the status table would read its status; one
    that does not leaves a status the table reads as open (or filled, for the last fill)."""
    reaction = TRADE_EVENTS[event].reaction
    status = AlpacaStatus(event) if event in {status.value for status in AlpacaStatus} else None
    if reaction in _CLOSING:
        assert status is not None and ORDER_STATUSES[status].ours is _CLOSING[reaction]
    elif status is not None:
        assert ORDER_STATUSES[status].ours == OPEN


# --- our enums onto alpaca-py's and back ---


@pytest.mark.parametrize(
    ("table", "reverse", "ours", "theirs"),
    [
        (mapping.SIDES, mapping.SIDES_FROM_ALPACA, Side, AlpacaSide),
        (mapping.ORDER_TYPES, mapping.ORDER_TYPES_FROM_ALPACA, OrderType, AlpacaType),
        (mapping.TIMES_IN_FORCE, mapping.TIMES_IN_FORCE_FROM_ALPACA, TimeInForce, AlpacaTimeInForce),
    ],
)
def test_each_of_our_values_maps_to_alpaca_and_back(table, reverse, ours, theirs) -> None:
    assert set(table) == set(ours)
    for value in ours:
        assert isinstance(table[value], theirs)
        assert reverse[table[value]] is value
        assert reverse[theirs(table[value].value)] is value  # read from the wire's string


def test_a_table_that_is_not_one_to_one_has_no_reverse() -> None:
    with pytest.raises(ValueError, match="not one to one"):
        mapping.reverse({Side.BUY: AlpacaSide.BUY, Side.SELL: AlpacaSide.BUY})


# --- requests ---


@pytest.mark.parametrize("time_in_force", list(TimeInForce))
@pytest.mark.parametrize(
    ("order_type", "prices", "wire_prices"),
    [
        (OrderType.MARKET, {}, {}),
        (OrderType.LIMIT, {"limit_price": Decimal("190.25")}, {"limit_price": 190.25}),
        (OrderType.STOP, {"stop_price": Decimal("185.5")}, {"stop_price": 185.5}),
        (OrderType.STOP_LIMIT, {"limit_price": Decimal("184.99"), "stop_price": Decimal("185")},
         {"limit_price": 184.99, "stop_price": 185.0}),
    ],
)
def test_a_request_is_built_for_each_type_and_time_in_force(order_type, prices, wire_prices, time_in_force) -> None:
    order = an_order(client_order_id="strat1-000042", side=Side.SELL, quantity=Decimal("10"),
                     order_type=order_type, time_in_force=time_in_force, **prices)
    request = order_request_for(order)  # alpaca-py validates on construction
    body = json.loads(json.dumps(request.to_request_fields()))  # what requests puts on the wire
    assert body == {
        "symbol": "AAPL", "qty": 10.0, "side": "sell", "type": mapping.ORDER_TYPES[order_type].value,
        "time_in_force": time_in_force.value.lower(), "client_order_id": "strat1-000042", **wire_prices,
    }


def test_the_numbers_on_the_wire_read_back_as_our_decimals() -> None:
    order = an_order(quantity=Decimal("0.001"), order_type=OrderType.MARKET)
    text = json.dumps(order_request_for(order).to_request_fields())
    assert json.loads(text, parse_float=Decimal)["qty"] == Decimal("0.001")  # the emulator reads it so


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"client_order_id": ""}, "no client order id"),
        ({"client_order_id": "x" * 129}, "128 characters"),
        ({"quantity": Decimal("0.5"), "order_type": OrderType.LIMIT, "limit_price": Decimal("10")}, "fractional"),
        ({"quantity": Decimal("0.5"), "time_in_force": TimeInForce.GTC}, "fractional"),
        ({"order_type": OrderType.LIMIT, "limit_price": Decimal("290.123")}, "limit_price 290.123 is finer"),
        ({"order_type": OrderType.STOP, "stop_price": Decimal("0.12345")}, "stop_price 0.12345 is finer"),
        ({"order_type": OrderType.LIMIT, "limit_price": None}, "needs a positive limit_price"),
        ({"quantity": Decimal("12345678901234567")}, "cannot be sent exactly"),
    ],
)
def test_what_alpaca_would_refuse_is_refused_before_sending(changes, words) -> None:
    with pytest.raises(BrokerRejected) as refused:
        order_request_for(an_order(**changes))
    assert words in refused.value.reason
    assert "not sent" in refused.value.reason
    assert refused.value.broker_status == ""


def test_allowed_increments_and_fractional_market_day_orders_are_built() -> None:
    order_request_for(an_order(order_type=OrderType.LIMIT, limit_price=Decimal("0.1234")))
    order_request_for(an_order(order_type=OrderType.STOP, stop_price=Decimal("290.10")))
    assert order_request_for(an_order(quantity=Decimal("0.25"))).qty == 0.25


# --- orders read ---


def test_the_documented_order_is_read_exactly() -> None:
    order = broker_order_from(ORDER)
    assert order.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert order.client_order_id == "strat1-000042"
    assert (order.symbol, order.side, order.order_type, order.time_in_force) == (
        "AAPL", Side.BUY, OrderType.LIMIT, TimeInForce.DAY
    )
    assert order.quantity == Decimal("10") and order.filled_quantity == Decimal("0")
    assert order.limit_price == Decimal("190.25") and order.stop_price is None
    assert order.average_fill_price is None
    assert (order.status, order.broker_status) == (OrderStatus.SUBMITTED, "new")
    assert order.fills == ()
    AlpacaOrder(**ORDER)  # and alpaca-py itself accepts the same JSON


def test_cumulative_figures_are_kept_exactly() -> None:
    order = broker_order_from(FILL_EVENT["order"])
    assert order.filled_quantity == Decimal("10")
    assert str(order.average_fill_price) == "190.212"
    assert order.status is OrderStatus.FILLED and order.fills == ()


@pytest.mark.parametrize(
    ("status", "filled", "ours"),
    [
        ("pending_new", "0", OrderStatus.SUBMITTED),
        ("accepted", "0", OrderStatus.SUBMITTED),
        ("partially_filled", "4", OrderStatus.PARTIALLY_FILLED),
        ("pending_cancel", "4", OrderStatus.PARTIALLY_FILLED),  # a pending cancel may still fill
        ("done_for_day", "0", OrderStatus.SUBMITTED),  # not final: it stays open
        ("done_for_day", "4", OrderStatus.PARTIALLY_FILLED),
        ("calculated", "10", OrderStatus.FILLED),
        ("expired", "4", OrderStatus.CANCELLED),
        ("canceled", "0", OrderStatus.CANCELLED),
        ("replaced", "0", OrderStatus.CANCELLED),
        ("rejected", "0", OrderStatus.REJECTED),
    ],
)
def test_the_status_follows_the_table_and_the_fill_progress(status: str, filled: str, ours: OrderStatus) -> None:
    order = broker_order_from(an_order_json(status=status, filled_qty=filled))
    assert (order.status, order.broker_status) == (ours, status)


def test_status_filled_with_quantity_left_is_a_contradiction() -> None:
    with pytest.raises(MalformedPayload, match="filled with 4 of 10"):
        status_of("filled", Decimal("4"), Decimal("10"))


def test_an_expired_or_replaced_order_says_why() -> None:
    assert "expired" in broker_order_from(an_order_json(status="expired")).reason
    replaced = broker_order_from(an_order_json(status="replaced", replaced_by="7224f1f2-9a52-4f0f-bd32-3c1e9d1b4c5e"))
    assert replaced.reason.endswith("7224f1f2-9a52-4f0f-bd32-3c1e9d1b4c5e")


@pytest.mark.parametrize(
    "changes",
    [{"status": "exploded"}, {"type": "trailing_stop", "order_type": "trailing_stop"},
     {"time_in_force": "opg"}, {"qty": None, "notional": "100.5"}],
)
def test_an_order_none_of_ours_can_describe_is_refused_by_name(changes) -> None:
    with pytest.raises(UnmappedValue):
        broker_order_from(an_order_json(**changes))


@pytest.mark.parametrize("changes", [{"qty": "ten"}, {"id": None}, {"filled_qty": True}, {"qty": "NaN"}])
def test_a_malformed_order_is_refused(changes) -> None:
    with pytest.raises(MalformedPayload):
        broker_order_from(an_order_json(**changes))


# --- events ---


def test_the_documented_fill_event_gives_its_own_execution() -> None:
    event = event_from(FILL_EVENT)
    assert event == OrderFilled(
        broker_order_id="61e69015-8549-4bfd-b9c3-01e75843f47d",
        client_order_id="strat1-000042",
        execution_id="2f63ea93-423d-4169-b3f6-3fdafc10c418",
        quantity=Decimal("6"),  # this execution's, not the cumulative 10
        price=Decimal("190.20"),  # this execution's, not the average 190.212
        time=datetime(2026, 3, 2, 14, 31, 9, 500000, tzinfo=UTC),
        broker_status="filled",
    )
    assert str(event.price) == "190.20"


def test_the_cumulative_figures_of_an_event_are_at_hand() -> None:
    progress = progress_of(FILL_EVENT)
    assert (progress.quantity, progress.filled_quantity, progress.average_fill_price) == (
        Decimal("10"), Decimal("10"), Decimal("190.212")
    )


def test_a_partial_fill_keeps_alpacas_status() -> None:
    payload = copy.deepcopy(FILL_EVENT)
    payload["event"] = "partial_fill"
    payload["order"].update(status="partially_filled", filled_qty="6", filled_avg_price="190.20")
    event = event_from(payload)
    assert isinstance(event, OrderFilled) and event.broker_status == "partially_filled"


def test_a_fill_without_an_execution_id_gets_the_id_repair_would_give() -> None:
    payload = copy.deepcopy(FILL_EVENT)
    del payload["execution_id"]
    event = event_from(payload)
    assert isinstance(event, OrderFilled)
    assert event.execution_id == "61e69015-8549-4bfd-b9c3-01e75843f47d:cumulative:10"


@pytest.mark.parametrize(
    "changes", [{"qty": None}, {"price": "0"}, {"qty": "-1"}, {"qty": "11"}, {"timestamp": "yesterday"}]
)
def test_a_malformed_fill_is_refused(changes) -> None:
    payload = {**copy.deepcopy(FILL_EVENT), **changes}
    with pytest.raises(MalformedPayload):
        event_from(payload)


@pytest.mark.parametrize(
    ("event", "kind"),
    [("new", OrderAccepted), ("accepted", OrderAccepted), ("pending_new", OrderAccepted),
     ("canceled", OrderCancelled), ("expired", OrderCancelled), ("replaced", OrderCancelled),
     ("rejected", OrderRejected)],
)
def test_each_order_event_becomes_its_port_event(event: str, kind: type) -> None:
    reported = event_from(an_event(event))
    assert isinstance(reported, kind)
    assert reported.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert reported.client_order_id == "strat1-000042"
    assert reported.broker_status == event
    assert reported.time == datetime(2026, 3, 2, 14, 31, 9, 500000, tzinfo=UTC)


def test_an_expiry_says_it_was_one() -> None:
    cancelled = event_from(an_event("expired"))
    assert isinstance(cancelled, OrderCancelled) and "expired" in cancelled.reason


@pytest.mark.parametrize("event", sorted(e for e, rule in TRADE_EVENTS.items() if rule.reaction is Reaction.IGNORED))
def test_ignored_events_report_nothing(event: str) -> None:
    assert event_from(an_event(event, status="new")) is None


def test_an_event_type_in_no_table_is_refused_by_name() -> None:
    with pytest.raises(UnmappedValue, match="'margin_call'"):
        event_from(an_event("margin_call"))


def test_nanosecond_timestamps_are_read() -> None:
    payload = an_event("new")
    payload["timestamp"] = "2026-03-02T14:31:09.123456789Z"
    event = event_from(payload)
    assert event is not None and event.time == datetime(2026, 3, 2, 14, 31, 9, 123456, tzinfo=UTC)
