"""The order stream's resume policy, shared by both clients: which failures are worth another
attempt, how long to wait before it, and where the next attempt starts so that nothing is
delivered twice or skipped."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import grpc

# A stream refused for one of these would be refused again: retrying would only hide it.
# OUT_OF_RANGE is a resume point that retention deleted; it needs the caller's decision.
FINAL_CODES = frozenset({
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
})


def is_retryable(code: grpc.StatusCode) -> bool:
    """UNAVAILABLE (a server stopping, restarted or unreachable; a dropped connection) and the
    other transient codes are retried; a refusal of the request itself is not."""
    return code not in FINAL_CODES


@dataclass
class Backoff:
    """Exponential backoff with full jitter (so that many clients of one restarted server do not
    come back in step), reset once a stream delivers again."""

    initial: float = 0.1
    maximum: float = 5.0
    _attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2**self._attempt)
        self._attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempt = 0


@dataclass
class ResumePoint:
    """The last sequence delivered: the next attempt asks for what comes after it."""

    after_sequence: int

    def admit(self, sequence: int) -> bool:
        """Whether an update is new; the service never repeats one after `after_sequence`, but
        this holds even if a reconnect overlapped."""
        if sequence <= self.after_sequence:
            return False
        self.after_sequence = sequence
        return True
