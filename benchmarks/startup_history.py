"""Start-up cost against history: a database with N historical (closed) orders and a few open
ones; time from process start to SERVING, and the server's peak memory then.

    .venv/bin/python benchmarks/startup_history.py [--orders 1000000] [--open 100]

Start-up reads only open orders (through the is_open index), so its cost should not follow N.
SQLite only: the rows are written with the sqlite3 module directly to keep set-up short.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from execution_server.store.database import create_engine  # noqa: E402
from execution_server.store.migrate import upgrade_to_head  # noqa: E402
from tests.process import free_port  # noqa: E402


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

    def rows(start: int, count: int, status: str, is_open: int):
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


def measure(path: Path, state: Path) -> tuple[float, int]:
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
                raise SystemExit(log.read_text())
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        status = Path(f"/proc/{process.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return elapsed, peak_kb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        empty, full = Path(folder) / "empty.db", Path(folder) / "history.db"
        populate(empty, 0, arguments.open)
        populate(full, arguments.orders, arguments.open)
        results = {}
        for label, path in (("no history", empty), (f"{arguments.orders:,} historical orders", full)):
            elapsed, peak_kb = measure(path, Path(folder) / f"{path.stem}-sim.jsonl")
            results[label] = {"seconds_to_serving": round(elapsed, 3), "peak_rss_mb": round(peak_kb / 1024, 1)}
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
