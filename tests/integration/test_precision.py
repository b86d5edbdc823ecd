"""Every quantity and price the API accepts is computed exactly behind it (the declared
precision, domain.money), through the real server: the simulated broker fills it whole,
positions carry it, reconciliation repairs it; what is beyond it is refused at the edge; and a
repair that fails leaves memory as it was."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from execution_server.config import ReconcileConfig
from execution_server.domain.money import MAX_INTEGER_DIGITS, MAX_SCALE
from tests.harness import Client, running, settings_for
from tests.waiting import eventually

EXTERNAL = "external"  # the strategy reconciliation books the broker's unexplained holdings under


@pytest.fixture
async def client(database_url: str, tmp_path: Path):
    # Automatic runs only compare: every repair here is the one the test asks for.
    reconcile = ReconcileConfig(interval_seconds=3600, auto_repair=False)
    # The arithmetic of every quantity the API accepts, far past any sane risk limit: none here.
    risk = {"limits": "none"}
    async with running(settings_for(database_url, tmp_path, reconcile=reconcile, risk=risk)) as client:
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="100"))
        yield client


async def filled(client: Client, **fields: Any) -> pb.Order:
    placed = await client.place(**fields)
    return await eventually(lambda: client.get(placed.order_id), lambda o: o.status == pb.ORDER_STATUS_FILLED)


async def positions(client: Client, strategy_id: str = "") -> list[tuple[str, str, str]]:
    reply = await client.execution.GetPositions(pb.GetPositionsRequest(strategy_id=strategy_id))
    return [(p.symbol, p.quantity, p.average_entry_price) for p in reply.positions]


@pytest.mark.parametrize(
    "quantity",
    [
        "123456789012345678901234.123456789012",  # every digit the API accepts: 36
        "10000000000000000.000000000001",  # 29 digits: one more than the default context keeps
    ],
)
async def test_a_market_buy_of_any_accepted_quantity_fills_whole_and_exactly(client: Client, quantity: str) -> None:
    order = await filled(client, quantity=quantity)
    assert (order.filled_quantity, order.average_fill_price) == (quantity, "100")
    assert await positions(client) == [("AAPL", quantity, "100")]
    assert await positions(client, "momentum_v1") == [("AAPL", quantity, "100")]


async def test_a_tiny_position_beside_a_huge_broker_position_is_repaired(client: Client) -> None:
    await filled(client, quantity="0.000000000001")
    await client.simulator.SetBrokerPosition(sim.SetBrokerPositionRequest(symbol="AAPL", quantity="10000000000000000000"))

    repaired = await client.execution.Reconcile(pb.ReconcileRequest(repair=True))

    assert [(d.local_quantity, d.broker_quantity) for d in repaired.discrepancies] == [
        ("0.000000000001", "10000000000000000000")
    ]
    assert await positions(client) == [("AAPL", "10000000000000000000", "100")]
    assert await positions(client, EXTERNAL) == [("AAPL", "9999999999999999999.999999999999", "100")]
    again = await client.execution.Reconcile(pb.ReconcileRequest(repair=True))
    assert not again.has_discrepancies, again


async def test_a_repair_the_database_refuses_leaves_positions_and_risk_as_they_were(
    client: Client, database_url: str
) -> None:
    await filled(client, quantity="10")
    await client.simulator.SetBrokerPosition(sim.SetBrokerPositionRequest(symbol="AAPL", quantity="15"))
    portfolio = client.app.risk.portfolio
    before = (
        await positions(client),
        await positions(client, EXTERNAL),
        portfolio.position(EXTERNAL, "AAPL"),
        portfolio.position(None, "AAPL"),
        portfolio.exposure(EXTERNAL),
        portfolio.exposure(),
        sorted(portfolio.strategy_ids()),
    )
    await refuse_position_writes(database_url, EXTERNAL)

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await client.execution.Reconcile(pb.ReconcileRequest(repair=True))

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value.details()
    after = (
        await positions(client),
        await positions(client, EXTERNAL),
        portfolio.position(EXTERNAL, "AAPL"),
        portfolio.position(None, "AAPL"),
        portfolio.exposure(EXTERNAL),
        portfolio.exposure(),
        sorted(portfolio.strategy_ids()),
    )
    assert after == before


async def refuse_position_writes(database_url: str, strategy_id: str) -> None:
    """A real refusal by the database: a trigger that aborts any write of the strategy's positions."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                for event in ("INSERT", "UPDATE"):
                    await conn.execute(text(
                        f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON positions "
                        f"WHEN NEW.strategy_id = '{strategy_id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                    ))  # fmt: skip
            else:
                await conn.execute(text(
                    "CREATE FUNCTION refuse_positions() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
                ))  # fmt: skip
                await conn.execute(text(
                    "CREATE TRIGGER refuse_positions BEFORE INSERT OR UPDATE ON positions FOR EACH ROW "
                    f"WHEN (NEW.strategy_id = '{strategy_id}') EXECUTE FUNCTION refuse_positions()"
                ))  # fmt: skip
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("quantity", "1." + "0" * MAX_SCALE + "1", f"at most {MAX_SCALE} decimal places"),
        ("quantity", "1" + "0" * MAX_INTEGER_DIGITS, f"at most {MAX_INTEGER_DIGITS} digits before the decimal point"),
        ("limit_price", "1" + "0" * MAX_INTEGER_DIGITS + ".5", f"at most {MAX_INTEGER_DIGITS} digits before the decimal point"),
        ("stop_price", "0.0000000000001", f"at most {MAX_SCALE} decimal places"),
    ],
)
async def test_a_value_beyond_the_declared_precision_is_refused_naming_field_and_limit(
    client: Client, field: str, value: str, limit: str
) -> None:
    order_type = {"quantity": pb.ORDER_TYPE_MARKET, "limit_price": pb.ORDER_TYPE_LIMIT, "stop_price": pb.ORDER_TYPE_STOP}
    fields: dict[str, Any] = {"order_type": order_type[field], "limit_price": "", "stop_price": ""}
    fields.update({"limit_price": "100"} if field == "limit_price" else {})
    fields.update({"stop_price": "100"} if field == "stop_price" else {})
    fields[field] = value
    sequence = client.app.fanout.high_water_mark
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.place(**{k: v for k, v in fields.items() if v})
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.details() and limit in refused.value.details(), refused.value.details()
    assert not (await client.execution.ListOrders(pb.ListOrdersRequest())).orders
    assert client.app.fanout.high_water_mark == sequence  # no event: nothing was written


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (sim.SetPriceRequest(symbol="AAPL", price="1" + "0" * MAX_INTEGER_DIGITS), "price"),
        (sim.SetPriceRequest(symbol="AAPL", price="100", available_quantity="0.0000000000001"), "available_quantity"),
        (sim.SetBrokerPositionRequest(symbol="AAPL", quantity="-1" + "0" * MAX_INTEGER_DIGITS), "quantity"),
    ],
)
async def test_the_simulator_refuses_values_beyond_the_declared_precision(client: Client, request_: Any, field: str) -> None:
    call = client.simulator.SetPrice if isinstance(request_, sim.SetPriceRequest) else client.simulator.SetBrokerPosition
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call(request_)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.details() and ("decimal places" in refused.value.details() or f"{MAX_INTEGER_DIGITS} digits" in refused.value.details())
    assert client.app.broker.reference_price("AAPL") == Decimal(100)
    assert await client.app.broker.positions() == []
