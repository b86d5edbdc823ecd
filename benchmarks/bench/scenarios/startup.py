"""Start-up to SERVING with 1,000,000 orders in the history (1,000 with --quick) and 100 open,
against an empty history: `execution-server serve` as a process, timed from its start to its
"listening on" line, and its peak RSS then. SQLite; the rows are written with the sqlite3
module directly (benchmarks/startup_history.py's seeding, moved here)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.bench.figures import Figure
from benchmarks.bench.run import Run
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from tests.process import free_port

OPEN_ORDERS = 100


def populate(path: Path, historical: int, open_orders: int) -> None:
    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade_to_head(engine)
        await engine.dispose()

    asyncio.run(migrate())
    connection = sqlite3.connect(path)
    now = "2026-11-25 12:00:00.000000"
    columns = ("order_id, position, client_order_id, broker_order_id, strategy_id, symbol, side, order_type, "
               "time_in_force, quantity, limit_price, stop_price, status, is_open, filled_quantity, "
               "average_fill_price, broker_status, reject_reason, cancel_reason, in_flight, cancel_requested, "
               "created_at, updated_at")

    def rows(start: int, count: int, status: str, is_open: int):  # type: ignore[no-untyped-def]
        for number in range(start, start + count):
            yield (str(uuid.UUID(int=number)), number, f"h-{number}", f"b-{number}", f"s{number % 50}",
                   f"SYM{number % 500}", "BUY", "LIMIT", "DAY", "10", "100", None, status, is_open,
                   "10" if status == "FILLED" else "0", "100" if status == "FILLED" else None,
                   "filled" if status == "FILLED" else "new", "", "", 0, 0, now, now)

    placeholders = ",".join("?" * 23)
    batch = 50_000
    for start in range(1, historical + 1, batch):
        connection.executemany(f"INSERT INTO orders ({columns}) VALUES ({placeholders})",
                               rows(start, min(batch, historical - start + 1), "FILLED", 0))
    connection.executemany(f"INSERT INTO orders ({columns}) VALUES ({placeholders})",
                           rows(historical + 1, open_orders, "SUBMITTED", 1))
    connection.execute(
        "INSERT INTO order_events (sequence, event_type, strategy_id, symbol, detail, time) VALUES (?, 'placed', 's', 'X', '', ?)",
        (historical + open_orders, now),
    )
    connection.commit()
    connection.close()


def measure(path: Path, state: Path) -> tuple[float, float]:
    """Seconds from `execution-server serve`'s start to its "listening on" line; peak RSS in MB."""
    port = free_port()
    environment = {**os.environ, "EXECUTION_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
                   "EXECUTION_GRPC_ADDRESS": f"127.0.0.1:{port}", "EXECUTION_SIMULATOR_STATE": str(state),
                   "EXECUTION_LOG_LEVEL": "WARNING"}
    log = path.with_suffix(".log")
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "execution_server", "serve"], env=environment,
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        while "listening on" not in log.read_text(errors="replace"):
            if process.poll() is not None:
                raise RuntimeError(log.read_text())
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        status = Path(f"/proc/{process.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return elapsed, peak_kb / 1024


async def startup_history(run: Run) -> None:
    orders = 1_000 if run.quick else 1_000_000
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        empty, full = Path(folder) / "empty.db", Path(folder) / "history.db"
        await loop.run_in_executor(None, populate, empty, 0, OPEN_ORDERS)
        await loop.run_in_executor(None, populate, full, orders, OPEN_ORDERS)
        empty_seconds, empty_mb = await loop.run_in_executor(None, measure, empty, Path(folder) / "empty-sim.jsonl")
        seconds, mb = await loop.run_in_executor(None, measure, full, Path(folder) / "history-sim.jsonl")
    name = f"start-up, {orders:,} orders in the history"
    run.add(Figure(name, "to SERVING", seconds, "s", baseline=empty_seconds, baseline_name="empty history",
                   note=f"{OPEN_ORDERS} open orders"))
    run.add(Figure(name, "peak RSS", mb, "MB", baseline=empty_mb, baseline_name="empty history"))
