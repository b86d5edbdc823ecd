"""Alpaca's JSON as ALPACA_API.md shows it (§3.1 an order, §5.3 a fill event), as alpaca-py's
raw_data=True hands it over, and builders for variations of them."""

from __future__ import annotations

import copy
from typing import Any

ORDER: dict[str, Any] = {
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
    "client_order_id": "strat1-000042",
    "created_at": "2026-03-02T14:31:07.123456Z",
    "updated_at": "2026-03-02T14:31:07.125000Z",
    "submitted_at": "2026-03-02T14:31:07.120000Z",
    "filled_at": None, "expired_at": None, "expires_at": None, "canceled_at": None,
    "failed_at": None, "replaced_at": None, "replaced_by": None, "replaces": None,
    "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "symbol": "AAPL", "asset_class": "us_equity",
    "notional": None, "qty": "10", "filled_qty": "0", "filled_avg_price": None,
    "order_class": "", "order_type": "limit", "type": "limit", "side": "buy",
    "position_intent": "buy_to_open", "time_in_force": "day",
    "limit_price": "190.25", "stop_price": None,
    "status": "new", "extended_hours": False, "legs": None,
    "trail_percent": None, "trail_price": None, "hwm": None,
    "subtag": None, "source": None,
}

FILL_EVENT: dict[str, Any] = {
    "event": "fill",
    "execution_id": "2f63ea93-423d-4169-b3f6-3fdafc10c418",
    "timestamp": "2026-03-02T14:31:09.500000Z",
    "price": "190.20", "qty": "6", "position_qty": "10",
    "order": {
        "id": "61e69015-8549-4bfd-b9c3-01e75843f47d", "client_order_id": "strat1-000042",
        "created_at": "2026-03-02T14:31:07.123456Z", "updated_at": "2026-03-02T14:31:09.500000Z",
        "submitted_at": "2026-03-02T14:31:07.120000Z", "filled_at": "2026-03-02T14:31:09.500000Z",
        "expired_at": None, "canceled_at": None, "failed_at": None, "replaced_at": None,
        "replaced_by": None, "replaces": None,
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": "AAPL", "asset_class": "us_equity",
        "notional": None, "qty": "10", "filled_qty": "10", "filled_avg_price": "190.212",
        "order_class": "", "order_type": "limit", "type": "limit", "side": "buy",
        "time_in_force": "day", "limit_price": "190.25", "stop_price": None,
        "status": "filled", "extended_hours": False, "legs": None,
        "trail_percent": None, "trail_price": None, "hwm": None,
    },
}


def an_order_json(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(ORDER), **changes}


def an_event(event: str, **order_changes: Any) -> dict[str, Any]:
    """A non-fill event: no execution_id, price, qty or position_qty (§5.2)."""
    payload = copy.deepcopy(FILL_EVENT)
    for key in ("execution_id", "price", "qty", "position_qty"):
        del payload[key]
    payload["event"] = event
    payload["order"].update({"filled_qty": "0", "filled_avg_price": None, "status": event, **order_changes})
    return payload
