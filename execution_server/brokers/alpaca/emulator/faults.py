"""Injected REST faults and the optional rate limit, consulted once per `/v2` request."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from execution_server.brokers.alpaca.emulator.http11 import Response
from execution_server.brokers.alpaca.emulator.wire import encode

# What each injected status answers with. A 504 comes from Alpaca's gateway, not its API: an
# HTML page, so `APIError.code` raises on it the way it does in production (§6.1).
_BODIES = {
    429: (encode({"code": 42910000, "message": "rate limit exceeded"}), "application/json"),
    500: (encode({"code": 50010000, "message": "internal server error"}), "application/json"),
    502: (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    503: (b"<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html"),
    504: (b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html"),
}


@dataclass(slots=True)
class Fault:
    status: int
    remaining: int
    after_processing: bool  # the request takes effect, then the reply is lost to the fault


class FaultPlan:
    """Faults queue up and are used in order: `count` calls each."""

    def __init__(self, rate_limit_per_minute: int | None) -> None:
        self.faults: list[Fault] = []
        self.delay_seconds = 0.0
        self.delays_left: int | None = None  # None: every request until cleared
        self.rate_limit = rate_limit_per_minute
        self._window_start = 0.0
        self._window_count = 0

    def fail(self, status: int, count: int = 1, after_processing: bool = False) -> None:
        if status not in _BODIES:
            raise ValueError(f"no injected fault for HTTP {status}; choose one of {sorted(_BODIES)}")
        if count < 1:
            raise ValueError("count must be positive")
        self.faults.append(Fault(status, count, after_processing))

    def delay(self, seconds: float, count: int | None = None) -> None:
        self.delay_seconds = max(0.0, seconds)
        self.delays_left = count

    def clear(self) -> None:
        self.faults.clear()
        self.delay(0.0)

    def next_delay(self) -> float:
        if not self.delay_seconds:
            return 0.0
        if self.delays_left is not None:
            self.delays_left -= 1
            if self.delays_left <= 0:
                seconds, self.delay_seconds = self.delay_seconds, 0.0
                return seconds
        return self.delay_seconds

    def next_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.faults.pop(0)
        return fault

    def rate_limited(self) -> Response | None:
        """Count this request in the minute's window: a 429 once the window is spent."""
        if self.rate_limit is None:
            return None
        moment = time.time()
        if moment - self._window_start >= 60:
            self._window_start, self._window_count = moment, 0
        self._window_count += 1
        if self._window_count > self.rate_limit:
            return self.render(429)
        return None

    def headers(self) -> dict[str, str]:
        limit = self.rate_limit or 200
        reset = math.ceil(self._window_start + 60) if self.rate_limit else math.ceil(time.time()) + 1
        remaining = max(0, limit - self._window_count) if self.rate_limit else limit
        return {"X-Ratelimit-Limit": str(limit), "X-Ratelimit-Remaining": str(remaining),
                "X-Ratelimit-Reset": str(reset)}

    def render(self, status: int) -> Response:
        body, content_type = _BODIES[status]
        response = Response(status, body, content_type=content_type)
        if status == 429:
            response.headers.update(self.headers() | {"X-Ratelimit-Remaining": "0"})
        return response
