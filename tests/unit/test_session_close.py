from datetime import UTC, datetime

from execution_server.app import seconds_until


def test_the_next_close_is_today_when_it_is_still_ahead() -> None:
    assert seconds_until("20:00", datetime(2026, 11, 25, 19, 30, tzinfo=UTC)) == 1800


def test_the_next_close_is_tomorrow_once_today_has_passed() -> None:
    assert seconds_until("20:00", datetime(2026, 11, 25, 20, 0, tzinfo=UTC)) == 86400
