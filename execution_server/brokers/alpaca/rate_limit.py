"""The request budget: Alpaca allows 200 REST requests a minute per key, then answers 429.

RequestBudget is ours, shared by every REST call, with cancels ahead of new orders and new
orders ahead of reads; ServerBudget is what Alpaca says of its own count (X-Ratelimit-* headers,
on every answer and on a 429), which caps ours until its reset time. Over budget a request waits
a bounded time and is then refused, saying so: a new order is never silently queued.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from execution_server.brokers.base import BrokerError, BrokerRejected, BrokerUnavailable


@dataclass(frozen=True, slots=True)
class ServerBudget:
    """Alpaca's own count: `remaining` requests until `reset_at` (epoch seconds, wall clock).
    None where a header is missing or unreadable: headers are advice, never a reason to fail."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ServerBudget:
        # requests' headers are case-insensitive; a plain dict from a test may not be.
        lowered = {str(key).lower(): value for key, value in headers.items()}
        return cls.from_values(lowered.get("x-ratelimit-limit"), lowered.get("x-ratelimit-remaining"),
                               lowered.get("x-ratelimit-reset"))

    @classmethod
    def from_values(cls, limit: object, remaining: object, reset: object) -> ServerBudget:
        """The three X-Ratelimit-* values as sent (limit, remaining, reset), any of them None."""
        return cls(limit=_int(limit), remaining=_int(remaining), reset_at=_number(reset))


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None


def _number(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


# --- our own budget ---


class Lane(enum.Enum):
    """Who asks. Cancels first: the kill switch must be able to cancel everything when polling
    has spent the budget. New orders next, reads last."""

    CANCEL = "cancel"
    SUBMIT = "submit"
    READ = "read"


# Tokens a lane must leave in the bucket for the lanes ahead of it.
DEFAULT_RESERVES: Mapping[Lane, int] = {Lane.CANCEL: 0, Lane.SUBMIT: 10, Lane.READ: 20}
# Alpaca's 429 without a reset header: wait as long as alpaca-py itself does before a retry.
DEFAULT_429_WAIT = 3.0


class OverBudget(BrokerUnavailable):
    """A cancel or a read not sent: no request budget within its wait."""


class OrderOverBudget(BrokerRejected):
    """A new order not sent: no request budget within its wait. Refused, never queued."""


class RequestBudget:
    """A token bucket shared by every REST call of one API key: `per_minute` tokens, refilled
    continuously; each request takes one. Alpaca's own count, when it tells (X-Ratelimit-*, a
    429), caps ours until its reset time.

    asyncio only; the clocks and the sleep are injectable so that tests need no real waiting.
    `clock` measures waits (monotonic); `wall_clock` reads Alpaca's reset times (epoch seconds)."""

    def __init__(
        self,
        per_minute: int = 200,
        *,
        reserves: Mapping[Lane, int] = DEFAULT_RESERVES,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if per_minute < 1 or any(reserve >= per_minute for reserve in reserves.values()):
            raise ValueError(f"a budget of {per_minute} a minute cannot keep reserves {dict(reserves)}")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._reserves = {lane: reserves.get(lane, 0) for lane in Lane}
        self._clock, self._wall_clock, self._sleep = clock, wall_clock, sleep
        self._tokens = float(per_minute)
        self._at = clock()
        # Alpaca's word: this many requests left until then (monotonic); None: it said nothing.
        self._server_left: int | None = None
        self._server_reset = 0.0
        self._cancels_waiting = 0

    async def acquire(self, lane: Lane, max_wait: float) -> None:
        """Take one request's token, waiting at most `max_wait` seconds for it; raise
        OrderOverBudget (SUBMIT) or OverBudget as soon as the wait is known to be longer."""
        started = self._clock()
        waiting = lane is Lane.CANCEL
        self._cancels_waiting += waiting
        try:
            while True:
                wait = self._wait(lane)
                if wait <= 0:
                    self._take()
                    return
                waited = self._clock() - started
                if waited + wait > max_wait:
                    raise self._refusal(lane, waited, wait, max_wait)
                await self._sleep(wait)
        finally:
            self._cancels_waiting -= waiting

    def observe(self, server: ServerBudget) -> None:
        """Alpaca's X-Ratelimit-* on any answer: never spend more than it says is left."""
        if server.remaining is None or server.reset_at is None:
            return
        self._refill()
        reset = self._clock() + max(0.0, server.reset_at - self._wall_clock())
        self._server_left, self._server_reset = server.remaining, reset
        self._tokens = min(self._tokens, float(server.remaining))

    def refused(self, server: ServerBudget) -> None:
        """A 429: nothing more until Alpaca's reset (or DEFAULT_429_WAIT when it gave none)."""
        reset_at = server.reset_at if server.reset_at is not None else self._wall_clock() + DEFAULT_429_WAIT
        self.observe(ServerBudget(server.limit, 0, reset_at))

    # --- the arithmetic ---

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.per_minute), self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._server_left is not None and now >= self._server_reset:
            self._server_left = None  # Alpaca's window is over: our bucket alone again

    def _wait(self, lane: Lane) -> float:
        """Seconds until `lane` may take a token (0: now). Lanes behind cancels also wait while
        a cancel is waiting: a token coming back goes to it first."""
        self._refill()
        floor = self._reserves[lane] + (self._cancels_waiting if lane is not Lane.CANCEL else 0)
        if self._server_left is not None and self._server_left - floor < 1:
            return self._server_reset - self._clock()
        missing = floor + 1 - self._tokens
        return 0.0 if missing <= 0 else missing / self._rate

    def _take(self) -> None:
        self._tokens -= 1
        if self._server_left is not None:
            self._server_left -= 1

    def _refusal(self, lane: Lane, waited: float, wait: float, max_wait: float) -> BrokerError:
        reason = (
            f"RATE_LIMITED: no request budget for this {lane.value} within {max_wait:g} s "
            f"(Alpaca allows {self.per_minute} requests a minute; the next one for it in {wait:.1f} s"
            f"{', after waiting ' + format(waited, '.1f') + ' s' if waited > 0 else ''}); not sent"
        )
        if lane is Lane.SUBMIT:
            return OrderOverBudget(reason, broker_status="")
        return OverBudget(reason)
