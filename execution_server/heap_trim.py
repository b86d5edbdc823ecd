"""Memory given back to the system once many streams have closed.

A stream's connection holds buffers in gRPC's core and in Python (what was queued for a reader
that stopped reading: a flow-control window of updates). When they close, glibc's malloc keeps
the freed memory for reuse rather than returning it, so the server's RSS stays at its peak:
200 readers stalled on their clients took it from 105 to 116 MB, and after they closed it stayed
at 116. malloc_trim(0) hands free pages back (to 109 MB there). It is asked for only after a
drop in the number of open streams (`after_closes` below the peak since the last trim), once
the count has held still for one look, so that a mass disconnect is trimmed once, at its end.

Where the C library has no malloc_trim (musl, macOS), nothing runs.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

from execution_server.background import cancelled

log = logging.getLogger(__name__)

LOOK_SECONDS = 0.5
AFTER_CLOSES = 16


def malloc_trim() -> Callable[[], object] | None:
    """glibc's malloc_trim(0) as a callable, or None where there is none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class HeapTrim:
    def __init__(
        self,
        open_streams: Callable[[], int],
        trim: Callable[[], object],
        *,
        after_closes: int = AFTER_CLOSES,
        look_seconds: float = LOOK_SECONDS,
    ) -> None:
        self._open_streams = open_streams
        self._trim = trim
        self._after_closes = after_closes
        self._look_seconds = look_seconds
        self._peak = self._last = open_streams()
        self._task: asyncio.Task[None] | None = None

    def due(self) -> bool:
        """One look: whether to trim now (and if so, the peak starts again from here)."""
        now, last = self._open_streams(), self._last
        self._last = now
        self._peak = max(self._peak, now)
        if now == last and self._peak - now >= self._after_closes:
            self._peak = now
            return True
        return False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="heap-trim")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancelled(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._look_seconds)
            if self.due():
                # On a thread: it walks the heap, and holds malloc's lock meanwhile, not the loop.
                await asyncio.to_thread(self._trim)
                log.debug("streams closed: their memory given back to the system")
