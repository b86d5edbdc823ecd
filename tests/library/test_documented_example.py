"""The Python example of the service's documentation (issue 21, SPEC.md), run as written: with
AlpacaClient against the loopback Alpaca emulator, and with the SimulatedBroker, which needs no
keys. Only the module paths, the keys and base_url are the test's."""

from __future__ import annotations

from decimal import Decimal

from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from execution_server.domain.orders import OrderStatus
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


async def test_the_example_runs_against_the_alpaca_emulator(emulator: AlpacaEmulator, capsys) -> None:
    from execution_server import AlpacaClient, OrderManagementSystem, PositionTracker
    from execution_server.schemas import OrderRequest

    client = AlpacaClient(api_key=ALPACA_KEY, secret_key=ALPACA_SECRET, paper=True, base_url=emulator.rest_url)
    oms = OrderManagementSystem()
    try:
        # --- the example, verbatim ---
        order_request = OrderRequest(symbol="AAPL", side="BUY", quantity=10, order_type="MARKET", strategy_id="momentum_v1")
        order = await client.place_order(order_request)
        oms.add_order(order)
        tracker = PositionTracker()
        tracker.update_from_broker(await client.get_positions())
        result = await tracker.reconcile(client)
        if result.has_discrepancies:
            print(f"Discrepancies found: {result.discrepancies}")
        # --- what it did ---
        assert emulator.submissions(order_request.client_order_id)[0]["qty"] == Decimal(10)
        await emulator.wait_for_listeners(1)  # its trade_updates stream, at the URL derived from base_url
        assert order.status is OrderStatus.SUBMITTED and order.broker_order_id
        kept = await oms.get_order(order.order_id)
        assert kept is not None and kept.status is OrderStatus.SUBMITTED
        assert kept.broker_order_id == order.broker_order_id and kept.quantity == Decimal(10)
        # The emulator filled the market order; this tracker has seen no fill: a discrepancy.
        assert tracker.broker_positions[0].symbol == "AAPL"
        assert result.has_discrepancies and "Discrepancies found" in capsys.readouterr().out
    finally:
        await oms.close()
        await client.close()


async def test_the_example_runs_against_the_simulated_broker(capsys) -> None:
    from execution_server import OrderManagementSystem, PositionTracker, SimulatedBroker
    from execution_server.schemas import OrderRequest

    client = SimulatedBroker()
    oms = OrderManagementSystem()
    try:
        # --- the example, verbatim ---
        order_request = OrderRequest(symbol="AAPL", side="BUY", quantity=10, order_type="MARKET", strategy_id="momentum_v1")
        order = await client.place_order(order_request)
        oms.add_order(order)
        tracker = PositionTracker()
        tracker.update_from_broker(await client.get_positions())
        result = await tracker.reconcile(client)
        if result.has_discrepancies:
            print(f"Discrepancies found: {result.discrepancies}")
        # --- what it did ---
        assert [o.client_order_id for o in await oms.list_orders(strategy_id="momentum_v1")] == [order.client_order_id]
        assert [(p.symbol, p.quantity) for p in tracker.broker_positions] == [("AAPL", Decimal(10))]
        assert result.has_discrepancies and "Discrepancies found" in capsys.readouterr().out
    finally:
        await oms.close()
        await client.close()
