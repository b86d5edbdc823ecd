"""The simulated market's daily close: when it comes, and the timer that brings it."""

from datetime import UTC, datetime
from decimal import Decimal

from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings
from execution_server.brokers.simulated.session_close import SessionCloseTimer, seconds_until
from execution_server.domain.orders import OrderStatus, OrderType
from tests.simulated.builders import an_order
from tests.waiting import eventually


def test_the_next_close_is_today_when_it_is_still_ahead() -> None:
    assert seconds_until("20:00", datetime(2026, 11, 25, 19, 30, tzinfo=UTC)) == 1800


def test_the_next_close_is_tomorrow_once_today_has_passed() -> None:
    assert seconds_until("20:00", datetime(2026, 11, 25, 20, 0, tzinfo=UTC)) == 86400


async def test_the_timer_closes_the_simulated_session_and_stops_idempotently() -> None:
    """A clock a millisecond before the close: the timer's first wait is that millisecond, and
    the DAY order resting at the broker expires; stop() twice, and before start(), is harmless."""
    broker = SimulatedBroker(SimulatorSettings(reference_prices={"AAPL": Decimal(100)}), lifetime="t")
    await broker.start()
    await broker.submit(an_order(order_type=OrderType.LIMIT, limit="90", client_order_id="day"))
    timer = SessionCloseTimer(broker, "20:00", lambda: datetime(2026, 11, 25, 19, 59, 59, 999_000, tzinfo=UTC))
    await timer.stop()
    timer.start()
    try:
        order = await eventually(
            lambda: broker.find_by_client_id("day"), lambda o: o is not None and o.status is OrderStatus.CANCELLED
        )
    finally:
        await timer.stop()
        await timer.stop()
        await broker.close()
    assert order is not None
