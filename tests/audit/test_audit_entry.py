"""An audit entry: in the caller's name, with details of bounded size."""

from __future__ import annotations

import json

from execution_server.audit.entry import MAX_DETAILS_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, bounded_json, by_caller
from execution_server.auth.principal import Principal, Role, acting_as, stop_acting


def test_an_entry_names_the_principal_of_the_call() -> None:
    token = acting_as(Principal("desk-ops", Role.OPERATOR, None))
    try:
        entry = by_caller("SetKillSwitch", {"engaged": True})
    finally:
        stop_acting(token)
    assert (entry.actor, entry.action, dict(entry.details)) == ("desk-ops", "SetKillSwitch", {"engaged": True})
    assert by_caller("LoseEvents", {}).actor == "anonymous"  # outside any call: open access


def test_a_long_reason_is_cut_to_a_prefix() -> None:
    shown = json.loads(bounded_json({"reason": "x" * 100_000}))
    assert shown["reason"] == "x" * MAX_TEXT_CHARS + "…"


def test_a_long_list_keeps_its_first_items_and_its_count() -> None:
    shown = json.loads(bounded_json({"cancelled_order_ids": [f"ord-{i}" for i in range(10_000)]}))
    assert shown["cancelled_order_ids"] == [f"ord-{i}" for i in range(MAX_LIST_ITEMS)]
    assert shown["cancelled_order_ids_count"] == 10_000


def test_details_never_exceed_the_bound() -> None:
    nested = {f"key{i}": {"reason": "y" * 1000, "ids": ["z" * 300] * 100} for i in range(100)}
    text = bounded_json(nested)
    assert len(text) <= MAX_DETAILS_CHARS
    assert json.loads(text)["truncated"] is True


def test_details_that_escape_badly_still_fit() -> None:
    text = bounded_json({f"k{i}": "\x01" * MAX_TEXT_CHARS for i in range(100)})
    assert len(text) <= MAX_DETAILS_CHARS and json.loads(text)["truncated"] is True
