"""Broker events while the database refuses writes: none is dropped.

The store is failed for real while fills arrive (SQLite: the database is full, as when the disk
fills; PostgreSQL: the database stops accepting connections and the service's are terminated),
then restored. Meanwhile the service reports NOT_SERVING; afterwards it converges by itself,
without a restart and without repair, and a reconciliation finds nothing to repair.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import event

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.app import Application
from execution_server.config import ReconcileConfig
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

SYMBOLS = ("AAPL", "MSFT")
ORDERS_PER_SYMBOL = 12


@contextlib.asynccontextmanager
async def sqlite_full(app: Application) -> AsyncIterator[None]:
    """SQLite's own disk-full error (SQLITE_FULL) on every connection the service uses, the
    writer's included: the database may not grow by a page. Lifted on every connection after."""
    full = {"on": True}

    def limit(dbapi_connection: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        (pages,) = cursor.fetchone()
        cursor.execute(f"PRAGMA max_page_count = {pages if full['on'] else NO_PAGE_LIMIT}")
        cursor.close()

    async def on_writers_connection(tx: Any) -> None:  # it keeps one connection between batches
        await tx.conn.run_sync(lambda sync: limit(sync.connection.dbapi_connection))

    event.listen(app.engine.sync_engine, "checkout", lambda dbapi, _record, _proxy: limit(dbapi))
    await app.writer.run(on_writers_connection)
    try:
        yield
    finally:
        full["on"] = False
        await app.writer.run(on_writers_connection)


NO_PAGE_LIMIT = 4294967294


@contextlib.asynccontextmanager
async def postgres_refusing(database_url: str) -> AsyncIterator[None]:
    """The service's database stops accepting connections, and its open ones are terminated."""
    base, _, name = database_url.rpartition("/")
    admin_url = f"{base}/postgres".replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
        )
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.close()


def store_down(client: Client, database_url: str) -> contextlib.AbstractAsyncContextManager[None]:
    return sqlite_full(client.app) if database_url.startswith("sqlite") else postgres_refusing(database_url)


async def health(client: Client, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(client.channel)
    return (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status


async def positions(client: Client) -> dict[str, Decimal]:
    response = await client.execution.GetPositions(pb.GetPositionsRequest())
    return {p.symbol: Decimal(p.quantity) for p in response.positions if Decimal(p.quantity) != 0}


async def test_fills_arriving_while_the_store_refuses_writes_are_applied_once_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, reconcile=ReconcileConfig(interval_seconds=3600, auto_repair=False))
    async with running(settings) as client:
        resting = []
        for symbol in SYMBOLS:
            await client.simulator.SetPrice(sim.SetPriceRequest(symbol=symbol, price="100"))
            for n in range(ORDERS_PER_SYMBOL):
                resting.append(
                    await client.place(
                        client_order_id=f"{symbol}-{n}", symbol=symbol, order_type=pb.ORDER_TYPE_LIMIT,
                        limit_price="99", time_in_force=pb.TIME_IN_FORCE_GTC, quantity="10",
                    )
                )
        broker = client.app.broker

        async with store_down(client, database_url):
            for symbol in SYMBOLS:  # every order fills in parts, then whole
                broker.set_price(symbol, "98", "45")  # type: ignore[attr-defined]
                broker.set_price(symbol, "97")  # type: ignore[attr-defined]
            await eventually(lambda: health(client), lambda status: status == health_pb2.HealthCheckResponse.NOT_SERVING)
            assert await health(client, "execution.v1.BrokerEvents") == health_pb2.HealthCheckResponse.NOT_SERVING

        expected = {symbol: Decimal(10 * ORDERS_PER_SYMBOL) for symbol in SYMBOLS}
        await eventually(lambda: positions(client), lambda held: held == expected, attempts=1500)
        await eventually(lambda: health(client), lambda status: status == health_pb2.HealthCheckResponse.SERVING)
        for order in resting:
            after = await client.get(order.order_id)
            assert (after.status, after.filled_quantity) == (pb.ORDER_STATUS_FILLED, "10"), after
        check = await client.execution.Reconcile(pb.ReconcileRequest(repair=False))
        assert list(check.discrepancies) == []
