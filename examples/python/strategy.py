"""A short strategy against execution-server's simulated broker, with the execution-client package.

    make run                                   # in one terminal: the server on 127.0.0.1:50051
    .venv/bin/python examples/python/strategy.py   # in another (or: make example)

It sets the simulated market's price, buys and sells a little AAPL, follows its orders on the
update stream until each is done, then prints its fills and positions. Options: --address,
--strategy, --symbol; the token (when the server has [auth]) from EXECUTION_TOKEN.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from decimal import Decimal

from execution_client import ExecutionClient, ExecutionError

DONE = ("FILLED", "CANCELLED", "REJECTED")
# (side, quantity): a buy, a second buy, then a partial exit.
TRADES = [("BUY", Decimal("10")), ("BUY", Decimal("5")), ("SELL", Decimal("3"))]


async def run(address: str, strategy: str, symbol: str, price: Decimal) -> None:
    async with ExecutionClient(address, token=os.environ.get("EXECUTION_TOKEN")) as client:
        try:
            await client.set_price(symbol, price)
            print(f"market  {symbol} priced at {price} (simulated broker)")
        except ExecutionError as error:  # another broker: trade at its prices
            print(f"market  {symbol}: not the simulated broker ({error.code.name}); trading at the broker's price")

        # Our own client order ids: a retry after a lost answer would send the same one again.
        run_id = uuid.uuid4().hex[:8]
        pending = {}
        for n, (side, quantity) in enumerate(TRADES):
            order = await client.place_order(symbol=symbol, side=side, quantity=quantity, strategy_id=strategy,
                                             client_order_id=f"{strategy}-{run_id}-{n}")
            pending[order.order_id] = order
            print(f"placed  {order.side} {order.quantity} {order.symbol} ({order.client_order_id}): {order.status}")

        # The stream replays the strategy's updates, then goes live; it resumes by itself if the
        # connection drops, so no fill is missed.
        async for update in client.stream_order_updates(strategy_id=strategy):
            order = update.order
            if order is None or order.order_id not in pending:
                continue
            if update.fill is not None:
                fill = update.fill
                print(f"fill    {order.side} {fill.quantity} {order.symbol} @ {fill.price} "
                      f"({order.client_order_id}, {fill.time:%H:%M:%S})")
            if order.status in DONE:
                if order.status != "FILLED":
                    print(f"done    {order.client_order_id}: {order.status} {order.reject_reason}")
                del pending[order.order_id]
                if not pending:
                    break

        for position in await client.get_positions(strategy):
            print(f"position {position.symbol} {position.quantity} @ {position.average_entry_price} "
                  f"realized P&L {position.realized_pnl}")
        account = await client.get_account()
        print(f"account cash {account.cash} equity {account.equity}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--strategy", default="example_strategy")
    parser.add_argument("--symbol", default="AAPL")
    parser.add_argument("--price", type=Decimal, default=Decimal("187.50"))
    arguments = parser.parse_args()
    asyncio.run(run(arguments.address, arguments.strategy, arguments.symbol, arguments.price))


if __name__ == "__main__":
    main()
