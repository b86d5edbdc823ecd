"""The journal's line format, byte for byte: a journal written before the encoder was hand-rolled
reads the same, and so does one written after it by the code before it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from execution_server.brokers.base import BrokerFill
from execution_server.brokers.simulated import journal
from execution_server.brokers.simulated.facts import (
    AccountRestored,
    Accepted,
    Activated,
    Closed,
    Fact,
    Filled,
    OrderRestored,
    PositionSet,
    PriceSet,
    Triggered,
)
from execution_server.domain.orders import OrderType, Side, TimeInForce

from .builders import D, at

KINDS = {
    Accepted: "accepted", Activated: "activated", Triggered: "triggered", Filled: "filled", Closed: "closed",
    PriceSet: "price", PositionSet: "position", AccountRestored: "account", OrderRestored: "order",
}  # fmt: skip


def reference_encode(fact: Fact) -> str:
    """The format as first written: a dict of kind and fields, in field order, through json."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, tuple):
            return [[plain(getattr(item, f.name)) for f in dataclasses.fields(item)] for item in value]
        return value

    record = {"k": KINDS[type(fact)]} | {f.name: plain(getattr(fact, f.name)) for f in dataclasses.fields(fact)}
    return json.dumps(record, separators=(",", ":"))


texts = st.text()  # any unicode: quotes, backslashes, control characters, astral planes
decimals = st.decimals(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [D("1E+2"), D("-0"), D("0.000"), D("1.5E-10"), D("-7")]
)
optional_decimals = st.none() | decimals
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
datetimes = st.datetimes(timezones=st.none() | zones)
seqs = st.integers(min_value=0, max_value=2**63)
price_sets = st.builds(PriceSet, texts, decimals, optional_decimals, datetimes)
position_sets = st.builds(PositionSet, texts, decimals, optional_decimals)
fills = st.builds(BrokerFill, texts, decimals, decimals, datetimes)

facts = st.one_of(
    st.builds(
        Accepted, seqs, texts, texts, st.sampled_from(Side), st.sampled_from(OrderType),
        st.sampled_from(TimeInForce), decimals, optional_decimals, optional_decimals, datetimes,
    ),  # fmt: skip
    st.builds(Activated, texts, datetimes),
    st.builds(Triggered, texts, datetimes),
    st.builds(Filled, texts, seqs, decimals, decimals, decimals, datetimes),
    st.builds(Closed, texts, texts, texts, datetimes, st.booleans()),
    price_sets,
    position_sets,
    st.builds(
        AccountRestored, decimals, seqs, seqs, st.lists(price_sets, max_size=3).map(tuple),
        st.lists(position_sets, max_size=3).map(tuple),
    ),  # fmt: skip
    st.builds(
        OrderRestored, seqs, texts, texts, st.sampled_from(Side), st.sampled_from(OrderType),
        st.sampled_from(TimeInForce), decimals, optional_decimals, optional_decimals, datetimes, decimals,
        optional_decimals, texts, texts, st.booleans(), st.booleans(), st.lists(fills, max_size=3).map(tuple),
    ),  # fmt: skip
)


@settings(max_examples=500, deadline=None)
@given(st.lists(facts, min_size=1, max_size=4))
def test_every_fact_is_written_exactly_as_the_json_of_its_fields(batch: list[Fact]) -> None:
    for fact in batch:
        assert journal.encode(fact) == reference_encode(fact)


def test_the_same_instant_in_another_zone_is_written_with_its_own_offset() -> None:
    utc = at(0)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == paris  # equal, but not the same text
    lines = [journal.encode(Activated("sim-1", moment)) for moment in (utc, paris, utc)]
    assert lines == [reference_encode(Activated("sim-1", moment)) for moment in (utc, paris, utc)]
    assert '"at":"2026-03-02T15:30:00+01:00"' in lines[1]


def test_a_line_written_by_the_reference_reads_back_and_is_rewritten_identically() -> None:
    fact = OrderRestored(
        7, "c-\u00e9\"\\", "AAPL", Side.SELL, OrderType.STOP_LIMIT, TimeInForce.GTC, D("1.50"), D("99"), D("1E+2"),
        at(0), D("0.5"), D("99.5"), "partially_filled", "", True, True, (BrokerFill("sim-exec-1", D("0.5"), D("99.5"), at(1)),),
    )  # fmt: skip
    line = reference_encode(fact)
    assert journal.decode(line) == fact
    assert journal.encode(journal.decode(line)) == line
