"""What a test (or a person with curl) does to the emulated broker: prices, liquidity, faults,
and changes behind the service's back. The in-process API and `POST /_emulator/<name>`
(JSON keyword arguments, numbers as Decimal) call the same methods."""

from __future__ import annotations

from typing import Any

from execution_server.brokers.alpaca.emulator.exchange import Exchange, Rejection
from execution_server.brokers.alpaca.emulator.faults import FaultPlan
from execution_server.brokers.alpaca.emulator.http11 import Request, Response
from execution_server.brokers.alpaca.emulator.stream import StreamHub
from execution_server.brokers.alpaca.emulator.wire import ApiError, encode, parse_body, to_decimal


class Controls:
    """The emulator's control surface; every method runs on the emulator's event loop."""

    # The names `POST /_emulator/<name>` may call.
    COMMANDS = (
        "set_price", "fail_next", "delay", "clear_faults", "reject_next_order", "cancel_order",
        "set_position", "expire_day_orders", "drop_stream", "silence_stream", "state",
    )

    def __init__(self, exchange: Exchange, faults: FaultPlan, hub: StreamHub) -> None:
        self.exchange = exchange
        self.faults = faults
        self.hub = hub

    def set_price(self, symbol: str, price: Any, available: Any = None) -> None:
        """Move `symbol` to `price` and work its open orders; `available` caps liquidity."""
        amount = to_decimal("price", price)
        assert amount is not None
        self.exchange.set_price(symbol, amount, to_decimal("available", available))

    def fail_next(self, status: int, count: int = 1, after_processing: bool = False) -> None:
        """The next `count` `/v2` calls answer `status` (429, 500, 502, 503, 504). With
        `after_processing` each call takes effect first: the order exists, the reply is lost."""
        self.faults.fail(int(status), int(count), bool(after_processing))

    def delay(self, seconds: Any, count: int | None = None) -> None:
        """Delay the next `count` `/v2` replies (None: every reply until `delay(0)`)."""
        self.faults.delay(float(seconds), None if count is None else int(count))

    def clear_faults(self) -> None:
        self.faults.clear()
        self.exchange.next_rejections.clear()

    def reject_next_order(
        self, message: str = "insufficient buying power", code: int = 40310000, status: int = 403,
        via_event: bool = False,
    ) -> None:
        """Refuse the next POST /v2/orders with Alpaca's code and message, over HTTP, or
        (`via_event`) accept it and then send a `rejected` trade update."""
        self.exchange.next_rejections.append(Rejection(int(status), int(code), message, bool(via_event)))

    def cancel_order(self, order_id: str, notify: bool = True) -> None:
        """Cancel an order behind the service's back; `notify=False` loses the `canceled` event."""
        self.exchange.cancel_behind(order_id, bool(notify))

    def set_position(self, symbol: str, qty: Any, avg_entry_price: Any = None) -> None:
        """Change a position behind the service's back: no order, no event, no cash."""
        quantity = to_decimal("qty", qty)
        assert quantity is not None
        self.exchange.set_position(symbol, quantity, to_decimal("avg_entry_price", avg_entry_price))

    def expire_day_orders(self) -> int:
        return self.exchange.expire_day_orders()

    def drop_stream(self, clean: bool = False) -> int:
        """Close every stream connection now (the SDK reconnects); returns how many."""
        return self.hub.drop(bool(clean))

    def silence_stream(self, silent: bool = True) -> int:
        """Stop (or resume) sending events on the current connections, keeping them up."""
        return self.hub.silence(bool(silent))

    def state(self) -> dict[str, Any]:
        return {
            "orders": [order.to_json() for order in self.exchange.orders.values()],
            "submissions": self.exchange.submissions,
            "positions": self.exchange.positions(),
            "account": self.exchange.account(),
            "stream": {"connections": len(self.hub.connections), "listeners": self.hub.listeners(),
                       "authentications": self.hub.authentications, "refusals": self.hub.refusals},
        }

    async def handle(self, request: Request) -> Response:
        name = request.path.removeprefix("/_emulator/")
        if name not in self.COMMANDS:
            return Response(404, encode({"message": f"no emulator command {name!r}", "commands": self.COMMANDS}))
        try:
            arguments = parse_body(request.body) if request.method == "POST" else {}
            result = getattr(self, name)(**arguments)
        except ApiError as error:
            return Response(error.status, encode(error.body))
        except (TypeError, ValueError) as error:
            return Response(400, encode({"message": str(error)}))
        return Response(200, encode({"result": result}))
