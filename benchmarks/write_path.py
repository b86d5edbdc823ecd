"""The OMS write path: PlaceOrder throughput with group commit against one commit per order,
run side by side on the same machine and database kind (a ratio, not an absolute claim).

    .venv/bin/python benchmarks/write_path.py [--orders 3000] [--concurrency 64] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from execution_server import app as app_module  # noqa: E402
from execution_server.config import replace
from execution_server.app import Application  # noqa: E402
from execution_server.domain.orders import OrderSpec, OrderType, Side  # noqa: E402
from execution_server.store import writer as writer_module  # noqa: E402
from tests.fakes import QuietBroker  # noqa: E402
from tests.harness import settings_for  # noqa: E402

_ids = itertools.count()


async def run(database_url: str, state: Path, orders: int, concurrency: int, max_batch: int) -> float:
    original = writer_module.GroupCommitWriter.__init__

    def patched(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **{**kwargs, "max_batch": max_batch})

    writer_module.GroupCommitWriter.__init__ = patched  # type: ignore[method-assign]
    app_module.GroupCommitWriter = writer_module.GroupCommitWriter
    # As fast as the writer goes, from one strategy: past the safe default order rate, set explicitly.
    risk = {"max_orders_per_second": 1_000_000, "order_burst": 1_000_000}
    app = Application(replace(settings_for(database_url, state, risk=risk)), broker=QuietBroker())
    await app.start()
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            spec = OrderSpec(f"bench-{next(_ids)}", "bench", "AAPL", Side.BUY, Decimal("1"), OrderType.LIMIT,
                             limit_price=Decimal("1"))
            await app.orders.place(spec)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(orders)))
    elapsed = time.perf_counter() - started
    await app.stop()
    writer_module.GroupCommitWriter.__init__ = original  # type: ignore[method-assign]
    return orders / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    results = {}
    for label, max_batch in (("one commit per order", 1), ("group commit", writer_module.MAX_BATCH)):
        with tempfile.TemporaryDirectory() as folder:
            url = arguments.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
            results[label] = asyncio.run(run(url, Path(folder), arguments.orders, arguments.concurrency, max_batch))
        print(f"{label:>22}: {results[label]:8.0f} orders/s")
    print(f"{'ratio':>22}: {results['group commit'] / results['one commit per order']:8.2f}x")


if __name__ == "__main__":
    main()
