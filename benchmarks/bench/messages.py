"""Realistic instances of the service's messages: what the load generator sends, and the sizes
the bare server's messages are given (each is the generated message's ByteSize)."""

from __future__ import annotations

import uuid

from google.protobuf.timestamp_pb2 import Timestamp

from execution.v1 import execution_pb2 as pb

STRATEGY = "bench"
SYMBOL = "AAPL"
PLACE_ORDER = "/execution.v1.ExecutionService/PlaceOrder"


def place_order_request(side: int = pb.SIDE_BUY, client_order_id: str = "") -> pb.PlaceOrderRequest:
    """A marketable order: a market order of one share, which the simulated broker fills at once."""
    return pb.PlaceOrderRequest(
        client_order_id=client_order_id, strategy_id=STRATEGY, symbol=SYMBOL, side=side, quantity="1",
        order_type=pb.ORDER_TYPE_MARKET, time_in_force=pb.TIME_IN_FORCE_DAY,
    )


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


def filled_order() -> pb.Order:
    """An order as PlaceOrder answers a market order that filled at once."""
    return pb.Order(
        order_id=str(uuid.uuid4()), client_order_id=str(uuid.uuid4()), broker_order_id=str(uuid.uuid4()),
        strategy_id=STRATEGY, symbol=SYMBOL, side=pb.SIDE_BUY, order_type=pb.ORDER_TYPE_MARKET,
        time_in_force=pb.TIME_IN_FORCE_DAY, quantity="1", status=pb.ORDER_STATUS_FILLED, filled_quantity="1",
        average_fill_price="187.25", created_at=_now(), updated_at=_now(), broker_status="filled",
    )


def order_update(sequence: int = 1_234_567) -> pb.StreamOrderUpdatesResponse:
    """A fill update, as StreamOrderUpdates sends it."""
    return pb.StreamOrderUpdatesResponse(
        sequence=sequence, order=filled_order(), time=_now(), event_type="fill",
        fill=pb.Fill(execution_id=str(uuid.uuid4()), quantity="1", price="187.25", time=_now()),
    )


def sizes() -> dict[str, int]:
    return {
        "PlaceOrderRequest": place_order_request(client_order_id=str(uuid.uuid4())).ByteSize(),
        "PlaceOrderResponse": pb.PlaceOrderResponse(order=filled_order()).ByteSize(),
        "OrderUpdate": order_update().ByteSize(),
    }
