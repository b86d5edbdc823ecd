"""GetAccount: the broker's own cash, buying power and equity, as decimal strings."""

from __future__ import annotations

from decimal import Decimal

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from tests.harness import Client
from tests.waiting import eventually


async def account(client: Client) -> pb.GetAccountResponse:
    return await client.execution.GetAccount(pb.GetAccountRequest())


async def test_the_account_is_the_brokers_and_follows_its_fills(client: Client) -> None:
    before = await account(client)
    cash = Decimal(before.cash)
    assert Decimal(before.equity) == cash and Decimal(before.buying_power) == cash  # nothing held yet

    await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="187.25"))
    filled = await client.place(quantity="10")
    assert filled.status == pb.ORDER_STATUS_FILLED
    await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="190"))

    after = await eventually(lambda: account(client), lambda a: Decimal(a.cash) != cash)
    assert Decimal(after.cash) == cash - Decimal("1872.5")
    assert Decimal(after.equity) == Decimal(after.cash) + 10 * Decimal("190")


async def test_an_open_buy_holds_buying_power_but_not_cash(client: Client) -> None:
    cash = Decimal((await account(client)).cash)
    await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="50", time_in_force=pb.TIME_IN_FORCE_GTC, quantity="4")

    held = await account(client)
    assert (Decimal(held.cash), Decimal(held.buying_power)) == (cash, cash - Decimal("200"))
