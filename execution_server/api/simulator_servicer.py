"""SimulatorService: served only with the simulated broker, so that strategy authors drive the
paper market from their own integration tests, in any language."""

from __future__ import annotations

from decimal import Decimal

import grpc

from execution.v1 import simulator_pb2 as pb
from execution.v1 import simulator_pb2_grpc
from execution_server.api.validation import InvalidRequest, out_of_bounds
from execution_server.api.errors import FailedPrecondition, translate_errors
from execution_server.audit.entry import by_caller
from execution_server.audit.trail import AuditTrail
from execution_server.brokers.base import CancelRefused
from execution_server.brokers.simulated import SimulatedBroker
from execution_server.brokers.simulated.engine import UnknownAtBroker
from execution_server.domain.money import InvalidDecimal, format_decimal, parse_decimal
from execution_server.domain.quoting import excerpt
from execution_server.oms.errors import OrderNotFound


class SimulatorServicer(simulator_pb2_grpc.SimulatorServiceServicer):
    """Every control is an operator action: recorded in the audit trail once it is done, with its result."""

    def __init__(self, broker: SimulatedBroker, audit: AuditTrail) -> None:
        self._broker = broker
        self._audit = audit

    @translate_errors
    async def SetPrice(self, request: pb.SetPriceRequest, context: grpc.aio.ServicerContext) -> pb.SetPriceResponse:
        problems: list[tuple[str, str]] = []
        symbol = _symbol(request.symbol, problems)
        price = _decimal("price", request.price, problems, positive=True)
        available = None
        if request.available_quantity:
            available = _decimal("available_quantity", request.available_quantity, problems, positive=False)
        if problems:
            raise InvalidRequest(problems)
        assert price is not None
        fills = self._broker.set_price(symbol, price, available)
        await self._audit.record(by_caller("SetPrice", {
            "symbol": symbol, "price": format_decimal(price),
            "available_quantity": None if available is None else format_decimal(available), "fills": fills,
        }))
        return pb.SetPriceResponse(symbol=symbol, price=format_decimal(price), fills=fills)

    @translate_errors
    async def CloseSession(self, request: pb.CloseSessionRequest, context: grpc.aio.ServicerContext) -> pb.CloseSessionResponse:
        expired = self._broker.close_session()
        await self._audit.record(by_caller("CloseSession", {"expired_broker_order_ids": list(expired)}))
        return pb.CloseSessionResponse(expired_broker_order_ids=expired)

    @translate_errors
    async def SetBrokerPosition(
        self, request: pb.SetBrokerPositionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetBrokerPositionResponse:
        problems: list[tuple[str, str]] = []
        symbol = _symbol(request.symbol, problems)
        quantity = _decimal("quantity", request.quantity, problems, positive=False, signed=True)
        average = None
        if request.average_entry_price:
            average = _decimal("average_entry_price", request.average_entry_price, problems, positive=True)
        if problems:
            raise InvalidRequest(problems)
        assert quantity is not None
        if average is None:
            average = self._broker.reference_price(symbol) or Decimal("1")
        self._broker.set_position(symbol, quantity, average)
        await self._audit.record(by_caller("SetBrokerPosition", {
            "symbol": symbol, "quantity": format_decimal(quantity), "average_entry_price": format_decimal(average),
        }))
        return pb.SetBrokerPositionResponse()

    @translate_errors
    async def CancelAtBroker(
        self, request: pb.CancelAtBrokerRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelAtBrokerResponse:
        if not request.broker_order_id:
            raise InvalidRequest([("broker_order_id", "required")])
        try:
            self._broker.cancel_behind_back(request.broker_order_id)
        except UnknownAtBroker:
            raise OrderNotFound(f"{excerpt(request.broker_order_id)} at the simulated broker") from None
        except CancelRefused as refused:  # known, but no longer open
            raise FailedPrecondition(refused.reason) from None
        except (LookupError, ValueError) as error:
            problem = f"no open order {excerpt(request.broker_order_id)} ({type(error).__name__})"
            raise InvalidRequest([("broker_order_id", problem)]) from None
        await self._audit.record(by_caller("CancelAtBroker", {"broker_order_id": request.broker_order_id}))
        return pb.CancelAtBrokerResponse()

    @translate_errors
    async def LoseEvents(self, request: pb.LoseEventsRequest, context: grpc.aio.ServicerContext) -> pb.LoseEventsResponse:
        self._broker.lose_next_events(request.count)
        await self._audit.record(by_caller("LoseEvents", {"count": request.count}))
        return pb.LoseEventsResponse()


def _symbol(text: str, problems: list[tuple[str, str]]) -> str:
    """The symbol, upper case; its syntax was checked at the edge (validation.check_syntax)."""
    if not text:
        problems.append(("symbol", "required: a ticker such as AAPL"))
    return text.upper()


def _decimal(
    field: str, text: str, problems: list[tuple[str, str]], *, positive: bool, signed: bool = False
) -> Decimal | None:
    try:
        value = parse_decimal(text, signed=True)  # a sign is read, to say what is wrong with it
    except InvalidDecimal as error:
        problems.append((field, f"expected a decimal string: {error}"))
        return None
    if positive and value <= 0:
        problems.append((field, f"must be positive, got {excerpt(text)}"))
        return None
    if not signed and (value < 0 or text.startswith("-")):  # "-0" too: no sign where none means anything
        problems.append((field, f"must not be negative, got {excerpt(text)}"))
        return None
    problem = out_of_bounds(value, text)
    if problem:
        problems.append((field, problem))
        return None
    return value
