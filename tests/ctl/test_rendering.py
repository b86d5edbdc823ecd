"""Tables, exact decimals, UTC times and JSON: what the commands print, without a server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from execution_client.ctl import views
from execution_client.ctl.tables import Column, decimal_text, render_table, time_text
from execution_client.ctl.watch_screen import screen, update_line
from execution_client.ctl.watch_state import applied, seeded
from tests.ctl.builders import T0, a_fill, a_position, an_order, an_update


def test_a_table_pads_columns_and_right_aligns_numbers() -> None:
    text = render_table([Column("SYM"), Column("QTY", right=True)], [["AAPL", "1"], ["A", "100.5"]])
    assert text.split("\n") == ["SYM     QTY", "AAPL      1", "A     100.5"]


def test_an_empty_table_says_so() -> None:
    assert render_table([Column("A")], [], empty="(no orders)") == "(no orders)"


def test_decimals_keep_the_digits_the_server_sent() -> None:
    # str() would print these as 1E-7 and 1.0E+3; the wire said 0.0000001 and 1000.0
    assert decimal_text(Decimal("0.0000001")) == "0.0000001"
    assert decimal_text(Decimal("1000.0")) == "1000.0"
    assert decimal_text(Decimal("187.250000000001")) == "187.250000000001"
    assert decimal_text(None) == ""


def test_times_are_shown_in_utc_whatever_their_offset() -> None:
    new_york = datetime(2026, 11, 25, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    assert time_text(new_york) == "2026-11-25 14:30:00.123Z"


def test_the_order_table_shows_one_row_per_order_with_exact_values() -> None:
    text = views.table_of(views.ORDER_COLUMNS, [an_order(quantity=Decimal("0.000001"), limit_price=None)])
    header, row = text.split("\n")
    assert header.split()[:3] == ["ORDER", "ID", "STRATEGY"]
    assert "0.000001" in row.split() and "SUBMITTED" in row.split()
    assert "2026-11-25 14:30:00.000Z" in row


def test_a_record_shows_every_field_of_an_order() -> None:
    text = views.record(an_order())
    names = [line.split(":")[0] for line in text.split("\n")]
    assert names[:3] == ["order_id", "client_order_id", "broker_order_id"]
    assert "limit_price:        180.25" in text.split("\n")


def test_json_carries_decimals_as_strings_and_times_as_utc_iso() -> None:
    loaded = json.loads(views.json_text([an_order(quantity=Decimal("0.0000001"))]))
    assert loaded[0]["quantity"] == "0.0000001"
    assert loaded[0]["created_at"] == "2026-11-25T14:30:00Z"
    assert loaded[0]["stop_price"] is None and loaded[0]["in_flight"] is False


def test_the_watch_screen_shows_open_orders_fills_and_positions() -> None:
    state = seeded([an_order(order_id="open-1")], [a_position(symbol="MSFT", quantity=Decimal("-5"))])
    state = applied(state, an_update(9, an_order(order_id="done-1", status="FILLED"), a_fill(price=Decimal("190.01"))))
    lines = screen(state, address="127.0.0.1:1", strategy=None, now=T0, width=200, height=40)
    text = "\n".join(lines)
    assert lines[0].startswith("execution-ctl watch  127.0.0.1:1  all strategies  sequence 9")
    assert "OPEN ORDERS (1)" in text and "open-1" in text
    assert "RECENT FILLS (1)" in text and "done-1" in text and "190.01" in text
    assert "POSITIONS (1)" in text and "-5" in text


def test_the_watch_screen_fits_the_terminal() -> None:
    state = seeded([an_order(order_id=f"order-{n}") for n in range(50)], [])
    lines = screen(state, address="a", strategy="momentum_v1", now=T0, width=40, height=20)
    assert len(lines) <= 20 and all(len(line) <= 40 for line in lines)
    assert any(line.startswith("… ") and line.endswith(" more") for line in lines)


def test_an_update_line_names_the_order_and_its_fill() -> None:
    line = update_line(an_update(12, an_order(order_id="o-9", status="FILLED"), a_fill(quantity=Decimal("2.5")), "fill"))
    assert line.split()[0] == "12" and "fill" in line.split() and "o-9" in line and "fill=2.5@180.25" in line


def test_a_kill_switch_result_names_each_cancel_failure() -> None:
    from execution_client import CancelFailure, KillSwitchResult

    result = KillSwitchResult(True, "halt", "HALTED", ("o-1",), (CancelFailure("o-2", "broker unreachable"),))
    lines = views.record(result).split("\n")
    assert "cancelled_order_ids: o-1" in lines
    assert "cancel_failures:     order_id=o-2 reason=broker unreachable" in lines
