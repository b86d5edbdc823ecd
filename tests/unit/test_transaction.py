"""A transaction's row writes are held until its batch commits, and its reads see them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from execution_server.domain.events import Fill
from execution_server.domain.orders import OrderStatus
from execution_server.store import repository
from execution_server.store import tables as t
from execution_server.store.database import create_engine
from execution_server.store.migrate import upgrade_to_head
from execution_server.store.repository import StoredPosition
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter
from tests.builders import T0, an_order


async def _run(database_url: str, *operations) -> list:
    """Each operation in a batch of its own, in order; the engine stays open for checks."""
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    writer = GroupCommitWriter(engine, last_sequence=0, clock=lambda: T0, on_commit=lambda updates, payloads: None)
    writer.start()
    try:
        results = [await writer.run(operation) for operation in operations]
    finally:
        await writer.stop()
    return [engine, *results]


async def test_an_order_inserted_and_changed_in_one_batch_is_stored_as_it_ended(database_url: str) -> None:
    placed = an_order(OrderStatus.PENDING, order_id="o-1", client_order_id="c-1")
    submitted = placed.submitted("b-1", "new", T0)
    filled = submitted.filled(placed.quantity, Decimal("101.5"), T0, "filled")

    async def life(tx: Transaction) -> tuple:
        tx.insert_order(placed, 1)
        seen_placed = await tx.get_order_by_client_id("c-1")
        tx.update_order(submitted)
        seen_by_broker_id = await tx.get_order_by_broker_id("b-1")
        tx.update_order(filled)
        tx.insert_fill(Fill("x-1", "o-1", placed.quantity, Decimal("101.5"), T0), 3)
        return seen_placed, seen_by_broker_id, await tx.get_order("o-1"), await tx.fill_exists("x-1"), await tx.fills_of("o-1")

    engine, (seen_placed, seen_by_broker_id, seen_last, fill_seen, fills_seen) = await _run(database_url, life)
    try:
        assert seen_placed == placed and seen_by_broker_id == submitted and seen_last == filled
        assert fill_seen and [fill.execution_id for fill in fills_seen] == ["x-1"]
        async with engine.connect() as conn:
            assert await repository.get_order(conn, "o-1") == filled
            assert [row.position for row in await conn.execute(select(t.orders.c.position))] == [1]
            assert [fill.execution_id for fill in await repository.fills_of(conn, "o-1")] == ["x-1"]
    finally:
        await engine.dispose()


async def test_reads_prefer_this_batch_s_changes_over_the_stored_row(database_url: str) -> None:
    stored = an_order(OrderStatus.SUBMITTED, order_id="o-1", client_order_id="c-1", broker_order_id="b-1")
    cancelled = stored.cancelled("asked", T0)

    async def insert(tx: Transaction) -> None:
        tx.insert_order(stored, 1)
        tx.insert_fill(Fill("x-1", "o-1", Decimal("10"), Decimal("100"), T0), 2)

    async def change_then_read(tx: Transaction) -> tuple:
        before = await tx.get_order_by_client_id("c-1")
        tx.update_order(cancelled)
        tx.insert_fill(Fill("x-2", "o-1", Decimal("5"), Decimal("100"), T0), 3)
        fills = [fill.execution_id for fill in await tx.fills_of("o-1")]
        return before, await tx.get_order_by_client_id("c-1"), await tx.get_order_by_broker_id("b-1"), fills

    async def unknown(tx: Transaction) -> tuple:
        return await tx.get_order("nope"), await tx.get_order_by_client_id("nope"), await tx.fill_exists("nope")

    engine, _, (before, after, by_broker, fills), missing = await _run(database_url, insert, change_then_read, unknown)
    try:
        assert before == stored and after == cancelled and by_broker == cancelled
        assert fills == ["x-1", "x-2"]
        assert missing == (None, None, False)
        async with engine.connect() as conn:
            assert (await repository.get_order(conn, "o-1")).status is OrderStatus.CANCELLED
    finally:
        await engine.dispose()


async def test_positions_are_inserted_then_overwritten_and_the_last_write_of_a_batch_wins(database_url: str) -> None:
    def position(quantity: str, strategy: str = "s") -> StoredPosition:
        return StoredPosition(strategy, "AAPL", Decimal(quantity), Decimal("100.25"), Decimal("0"))

    async def first(tx: Transaction) -> None:
        tx.save_position(position("10"))
        tx.save_position(position("-3", strategy=""))

    async def second(tx: Transaction) -> None:
        tx.save_position(position("15"))
        tx.save_position(position("0"))

    engine, *_ = await _run(database_url, first, second)
    try:
        async with engine.connect() as conn:
            stored = {(p.strategy_id, p.symbol): p for p in await repository.load_positions(conn)}
        assert stored[("s", "AAPL")].quantity == Decimal("0")
        assert stored[("", "AAPL")].quantity == Decimal("-3")
        assert stored[("s", "AAPL")].average_entry_price == Decimal("100.25")
    finally:
        await engine.dispose()


async def test_nothing_held_is_written_when_the_batch_fails(database_url: str) -> None:
    order = an_order(OrderStatus.PENDING, order_id="o-1", client_order_id="c-1")

    async def fails_after_writing(tx: Transaction) -> None:
        tx.insert_order(order, 1)
        tx.save_position(StoredPosition("s", "AAPL", Decimal("1"), Decimal("1"), Decimal("0")))
        raise RuntimeError("boom")

    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    writer = GroupCommitWriter(engine, last_sequence=0, clock=lambda: T0, on_commit=lambda updates, payloads: None)
    writer.start()
    try:
        try:
            await writer.run(fails_after_writing)
        except RuntimeError:
            pass
        else:
            raise AssertionError("the failing operation must fail its caller")
    finally:
        await writer.stop()
    try:
        async with engine.connect() as conn:
            assert await repository.get_order(conn, "o-1") is None
            assert await repository.load_positions(conn) == []
    finally:
        await engine.dispose()
