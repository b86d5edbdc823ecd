"""`execution-server serve` with EXECUTION_BROKER=alpaca as a real process: killed (SIGKILL)
after the emulator accepted an order and before the service recorded Alpaca's answer, it finds
the order by client order id on restart and does not send it again."""

from __future__ import annotations

from pathlib import Path

import grpc

from execution.v1 import execution_pb2 as pb
from execution.v1 import execution_pb2_grpc
from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from tests.process import ServerProcess, wait_until
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET


def _alpaca_server(database_url: str, tmp_path: Path, emulator: AlpacaEmulator) -> ServerProcess:
    # Many settlement lookups: the one in flight at the kill must still be trying (not given up
    # and rejected the order as never received) however slow this machine is today.
    config = tmp_path / "service.toml"
    config.write_text("[server]\nsettle_attempts = 1000\n")
    return ServerProcess(database_url, tmp_path, EXECUTION_BROKER="alpaca", ALPACA_API_KEY=ALPACA_KEY,
                         ALPACA_SECRET_KEY=ALPACA_SECRET, ALPACA_BASE_URL=emulator.rest_url, ALPACA_DATA_URL=emulator.rest_url,
                         TRADING_MODE="PAPER",
                         EXECUTION_CONFIG=str(config))


def test_a_kill_between_alpacas_acceptance_and_our_record_is_recovered_not_sent_again(
        database_url: str, tmp_path: Path, emulator: AlpacaEmulator) -> None:
    server = _alpaca_server(database_url, tmp_path, emulator).start()
    try:
        assert "broker alpaca PAPER at " + emulator.rest_url in server.output()
        wait_until(lambda: emulator.stream_listeners() == 1)
        # From here the service can learn nothing: the stream says nothing, and every REST call
        # takes effect at Alpaca but its reply is lost (a 504 from the gateway). So the order is
        # at Alpaca while the service holds it PENDING, with no Alpaca id, for as long as we like.
        emulator.silence_stream(True)
        emulator.fail_next(504, count=100_000, after_processing=True)
        with grpc.insecure_channel(server.address) as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            placed = stub.PlaceOrder(pb.PlaceOrderRequest(
                client_order_id="crash-alpaca", strategy_id="s", symbol="AAPL", side=pb.SIDE_BUY, quantity="3",
                order_type=pb.ORDER_TYPE_LIMIT, limit_price="1", time_in_force=pb.TIME_IN_FORCE_GTC), timeout=60).order
            wait_until(lambda: len(emulator.submissions("crash-alpaca")) == 1)
            before = stub.GetOrder(pb.GetOrderRequest(order_id=placed.order_id)).order
        [accepted] = [o for o in emulator.orders() if o["client_order_id"] == "crash-alpaca"]
        assert accepted["status"] in ("new", "accepted")
        # Not vacuous: at the kill the service has not recorded Alpaca's answer.
        assert (before.status, before.broker_order_id) == (pb.ORDER_STATUS_PENDING, "")
        server.kill()
    finally:
        server.__exit__()

    emulator.clear_faults()
    restarted = _alpaca_server(database_url, tmp_path, emulator).start()
    try:
        with grpc.insecure_channel(restarted.address) as channel:
            stub = execution_pb2_grpc.ExecutionServiceStub(channel)
            after = stub.GetOrder(pb.GetOrderRequest(client_order_id="crash-alpaca")).order
            assert after.order_id == placed.order_id
            assert (after.status, after.broker_order_id) == (pb.ORDER_STATUS_SUBMITTED, accepted["id"])
            assert len(emulator.submissions("crash-alpaca")) == 1
            report = stub.Reconcile(pb.ReconcileRequest(repair=False))
            assert not report.has_discrepancies, report
        assert len(emulator.submissions("crash-alpaca")) == 1
    finally:
        assert restarted.terminate() == 0
