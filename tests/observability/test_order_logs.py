"""The order log: one INFO line per committed order event, as JSON objects that parse and carry
the order's identity (a real server, SQLite and PostgreSQL); text stays the default."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.config import load_settings
from execution_server.observability.logs import JsonFormatter, TextFormatter
from tests.harness import running, settings_for
from tests.waiting import eventually

IDENTITY = ("order_id", "client_order_id", "strategy_id", "symbol", "status")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the order logger writes, formatted as `EXECUTION_LOG_FORMAT=json` formats it."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("execution_server.orders")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield output
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def parsed(output: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in output.getvalue().splitlines()]


async def test_each_order_event_is_one_json_line_with_the_orders_fields(
    database_url: str, tmp_path: Path, json_lines: io.StringIO
) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="187.25"))
        market = await client.place(client_order_id="log-fill", quantity="10")
        await eventually(lambda: client.get(market.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
        resting = await client.place(client_order_id="log-cancel", order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
        await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=resting.order_id))
        refused = await client.place(client_order_id="log-reject", quantity="1000000")
        await client.simulator.SetBrokerPosition(sim.SetBrokerPositionRequest(symbol="MSFT", quantity="5"))
        await client.execution.Reconcile(pb.ReconcileRequest(repair=True))

    lines = parsed(json_lines)
    assert all(line["level"] == "INFO" and line["logger"] == "execution_server.orders" and line["ts"] for line in lines)
    by_order = [(line.get("client_order_id"), line["event"]) for line in lines]
    assert by_order == [
        ("log-fill", "placed"), ("log-fill", "submitted"), ("log-fill", "filled"),
        ("log-cancel", "placed"), ("log-cancel", "submitted"), ("log-cancel", "cancel_requested"),
        ("log-cancel", "cancelled"),
        ("log-reject", "placed"), ("log-reject", "rejected"),
        (None, "repaired"),  # the account's MSFT moved to the broker's: a position, no order
    ]
    for line in lines[:-1]:
        assert all(line[key] for key in IDENTITY), line
        assert line["strategy_id"] == "momentum_v1" and line["symbol"] == "AAPL"
        assert line["message"] == f"order {line['event']}"
    fill = lines[2]
    assert (fill["order_id"], fill["status"]) == (market.order_id, "FILLED")
    assert (fill["fill_quantity"], fill["fill_price"]) == ("10", "187.25")  # decimal strings
    assert lines[8]["order_id"] == refused.order_id and lines[8]["reason"] == refused.reject_reason
    repaired = lines[-1]
    assert (repaired["symbol"], repaired["strategy_id"]) == ("MSFT", "external")
    assert "reconcile run" in repaired["reason"]


async def test_order_events_can_be_kept_out_of_the_log(database_url: str, tmp_path: Path, json_lines: io.StringIO) -> None:
    async with running(settings_for(database_url, tmp_path, log_order_events=False)) as client:
        await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
    assert parsed(json_lines) == []


def test_text_is_the_default_format_and_carries_the_fields_as_words() -> None:
    assert load_settings({}).log_format == "text"
    assert load_settings({"EXECUTION_LOG_FORMAT": "json"}).log_format == "json"
    record = logging.LogRecord("execution_server.orders", logging.INFO, __file__, 1, "order %s", ("placed",), None)
    record.order = {"event": "placed", "order_id": "o-1", "symbol": "AAPL"}
    line = TextFormatter().format(record)
    assert line.endswith("INFO execution_server.orders: order placed order_id=o-1 symbol=AAPL")
    assert json.loads(JsonFormatter().format(record))["order_id"] == "o-1"


def test_a_traceback_stays_inside_its_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exception"]
