"""GET /v2/clock: US/Eastern timestamps like Alpaca's, session 09:30–16:00 on weekdays."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Any

try:
    from zoneinfo import ZoneInfo

    _EASTERN: tzinfo = ZoneInfo("America/New_York")
except Exception:  # no tz database on this machine: UTC offsets still parse in the SDK
    from datetime import UTC as _EASTERN  # noqa: N811


def clock_json(market_open: bool) -> dict[str, Any]:
    """`market_open` is the emulator's switch; the next open/close follow the calendar."""
    moment = datetime.now(_EASTERN)
    return {
        "timestamp": moment.isoformat(),
        "is_open": market_open,
        "next_open": _next(moment, time(9, 30)).isoformat(),
        "next_close": _next(moment, time(16, 0)).isoformat(),
    }


def _next(moment: datetime, at: time) -> datetime:
    day = moment.date()
    while True:
        candidate = datetime.combine(day, at, tzinfo=_EASTERN)
        if candidate > moment and candidate.weekday() < 5:
            return candidate
        day += timedelta(days=1)
