"""The cyclic garbage collector, tuned for a long-running event loop."""

from __future__ import annotations

import gc

# Full collections wait for this many collections of the middle generation (the default is
# 10): about one a minute at 1,000 orders/s instead of one a second. Each pauses the loop; what
# they found in the stream benchmark was 0-75 objects, so memory does not notice.
FULL_COLLECTION_EVERY = 1_000


def tune_collector() -> None:
    """Keeps the cyclic collector's full passes off the event loop's critical path.

    A full pass walks every tracked object and holds the loop while it does. Start-up leaves
    ~90,000 (modules, gRPC, SQLAlchemy, the loaded state); with them in each pass, each one
    stalled the loop 50-80 ms, once a second at 1,000 orders/s, and that was the whole of a
    stream subscriber's p99 (`make bench`, its stream_fanout scenario). They are frozen here, after a
    collection: frozen objects are still freed when their last reference goes, only cycles among
    them would never be collected, so this runs once, on what lives as long as the process."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
