"""What a client is told when the database refuses a change or cannot answer: only the caller
at fault fails, a live order is never reported as an error, and a store that cannot answer is
UNAVAILABLE."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.brokers.base import BrokerAck, BrokerRejected
from execution_server.brokers.factory import build_broker
from execution_server.brokers.simulated import SimulatedBroker
from execution_server.config import Settings
from execution_server.domain.orders import Order
from tests.harness import Client, running, settings_for
from tests.waiting import eventually


async def test_one_clients_refused_change_fails_no_other_clients_order(client: Client) -> None:
    """A NUL in an order id was accepted by SQLite and refused by PostgreSQL, which then aborted
    the whole transaction of the group commit: the PlaceOrders batched with it must not pay.
    The edge now refuses it before the store (api/edge.py); the batch must still not pay."""
    places = [client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1") for _ in range(300)]
    cancels = [client.execution.CancelOrder(pb.CancelOrderRequest(order_id="x\0")) for _ in range(20)]
    calls = places[:150] + cancels + places[150:]
    results = await asyncio.gather(*calls, return_exceptions=True)
    placed = results[:150] + results[170:]
    refused = results[150:170]
    failed = [result for result in placed if isinstance(result, BaseException)]
    assert failed == []
    assert all(order.status == pb.ORDER_STATUS_SUBMITTED for order in placed)
    assert all(isinstance(result, grpc.aio.AioRpcError) for result in refused)
    assert {result.code() for result in refused} == {grpc.StatusCode.INVALID_ARGUMENT}
    listed = await client.execution.ListOrders(pb.ListOrdersRequest(page_size=1000))
    assert len(listed.orders) == 300


class GatedBroker(SimulatedBroker):
    """The real simulated broker, holding each submission at the door until the test opens it."""

    entered: asyncio.Event
    gate: asyncio.Event
    refuse: bool

    async def submit(self, order: Order) -> BrokerAck:
        self.entered.set()
        await self.gate.wait()
        if self.refuse:
            raise BrokerRejected("refused at the door")
        return await super().submit(order)


def gated_broker(settings: Settings) -> GatedBroker:
    broker = build_broker(settings)
    broker.__class__ = GatedBroker
    broker.entered, broker.gate, broker.refuse = asyncio.Event(), asyncio.Event(), False
    return broker  # type: ignore[return-value]


REFUSE_ORDER_UPDATES = {
    # A real refusal by the database, of every change to an order row (inserts still pass).
    "sqlite": ["CREATE TRIGGER refuse_order_updates BEFORE UPDATE ON orders "
               "BEGIN SELECT RAISE(ABORT, 'orders are read-only'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse_order_updates() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'orders are read-only'; END $$",
        "CREATE TRIGGER refuse_order_updates BEFORE UPDATE ON orders "
        "FOR EACH ROW EXECUTE FUNCTION refuse_order_updates()",
    ],
}


async def refuse_order_updates(engine: AsyncEngine, refuse: bool) -> None:
    async with engine.begin() as conn:
        if refuse:
            for statement in REFUSE_ORDER_UPDATES[engine.dialect.name]:
                await conn.execute(text(statement))
        else:
            await conn.execute(text("DROP TRIGGER refuse_order_updates" + (
                " ON orders" if engine.dialect.name == "postgresql" else "")))


def _settlement_attempts(caplog: pytest.LogCaptureFixture) -> Callable[[], Awaitable[list[str]]]:
    async def attempts() -> list[str]:
        return [record.getMessage() for record in caplog.records if "settlement could not be recorded" in record.getMessage()]

    return attempts


async def test_an_order_sent_whose_acknowledgement_cannot_be_written_is_the_reply_and_settles(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The order is durable and at the broker; only the write of the ack fails. The client must
    get the order (PENDING, in flight), not an error, and the order must converge."""
    broker = gated_broker(settings)
    async with running(settings, broker=broker) as client:
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="187.25"))
        reply = asyncio.ensure_future(client.place(client_order_id="ack-lost-1"))
        await broker.entered.wait()
        await refuse_order_updates(client.app.engine, True)
        broker.gate.set()
        order = await reply
        # Still refused when settlement first finds the order at the broker: it tries again.
        await eventually(_settlement_attempts(caplog), bool)
        await refuse_order_updates(client.app.engine, False)
        assert order.status == pb.ORDER_STATUS_PENDING and order.in_flight
        assert order.client_order_id == "ack-lost-1"
        settled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)
        assert settled.broker_order_id and not settled.in_flight and settled.filled_quantity == "10"


async def test_an_order_whose_rejection_cannot_be_written_is_the_reply_and_settles(database_url: str, tmp_path: Path) -> None:
    """The broker refused the order but the rejection cannot be written: the order is durable,
    so the reply is the order (in flight), and settlement, finding nothing at the broker,
    rejects it."""
    settings = settings_for(database_url, tmp_path, settle_attempts=2)
    broker = gated_broker(settings)
    broker.refuse = True
    async with running(settings, broker=broker) as client:
        reply = asyncio.ensure_future(client.place(client_order_id="reject-lost-1"))
        await broker.entered.wait()
        await refuse_order_updates(client.app.engine, True)
        broker.gate.set()
        order = await reply
        await refuse_order_updates(client.app.engine, False)
        assert order.status == pb.ORDER_STATUS_PENDING and order.in_flight
        settled = await eventually(lambda: client.get(order.order_id), lambda o: o.status == pb.ORDER_STATUS_REJECTED)
        assert settled.reject_reason.startswith("NOT_RECEIVED") and not settled.in_flight


READS = {
    # Each read-only RPC, with the table its read waits on when the test locks it.
    "GetOrder": ("orders", lambda c, order_id: c.execution.GetOrder(pb.GetOrderRequest(order_id=order_id))),
    "ListOrders": ("orders", lambda c, order_id: c.execution.ListOrders(pb.ListOrdersRequest())),
    "ListReconcileRuns": ("reconcile_runs", lambda c, order_id: c.execution.ListReconcileRuns(pb.ListReconcileRunsRequest())),
}


async def read_cut_off(
    client: Client, database_url: str, table: str, call: Callable[[], Awaitable[object]]
) -> BaseException:
    """The call's read fails for real: on PostgreSQL its connection is terminated while the
    read waits (on a lock the test holds); on SQLite the database file (with its WAL) is
    replaced by one that is not a database, and the pool's idle connections closed so that
    reads must reopen it."""
    engine = client.app.engine
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        for companion in ("-wal", "-shm"):  # else a new connection reads the pages from the WAL
            path.with_name(path.name + companion).unlink(missing_ok=True)
        garbage = path.with_name("garbage.db")
        garbage.write_bytes(b"this is not a database" * 512)
        garbage.replace(path)
        await engine.dispose()
        return await _failure(call)
    admin = create_async_engine(database_url)
    try:
        async with admin.connect() as conn, admin.connect() as watcher:
            await conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            pending = asyncio.ensure_future(_failure(call))

            async def waiting() -> int:
                # Its own connection, one statement a transaction: pg_stat_activity is a snapshot
                # taken once per transaction.
                query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                count = (await watcher.execute(text(query))).scalar_one()
                await watcher.rollback()
                return count

            await eventually(waiting, lambda count: count > 0)
            await conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
            failure = await pending
            await conn.rollback()
    finally:
        await admin.dispose()
    return failure


async def _failure(call: Callable[[], Awaitable[object]]) -> BaseException:
    try:
        await call()
    except BaseException as error:  # noqa: BLE001 - the failure is what the test looks at
        return error
    raise AssertionError("the read did not fail")


@pytest.mark.parametrize("rpc", sorted(READS))
async def test_a_read_the_database_cannot_answer_is_unavailable(rpc: str, settings: Settings) -> None:
    table, read = READS[rpc]
    async with running(settings) as client:
        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="1")
        failure = await read_cut_off(client, settings.database_url, table, lambda: read(client, order.order_id))
    assert isinstance(failure, grpc.aio.AioRpcError)
    assert failure.code() == grpc.StatusCode.UNAVAILABLE, failure.details()
