"""The pure diff of our books against the broker's: every difference, named, with both sides.

No I/O: the caller fetches both snapshots, this module only compares them, so that every rule
here is tested without a broker and a reconciliation of 10,000 positions and 10,000 orders costs
a few dict look-ups each. Quantities in a Discrepancy are canonical decimal strings
(money.format_decimal: "10", "-2.5"), as the API carries them; "" when a side has no quantity.

Orders are matched by client order id, the one key both sides share from the first request on.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from execution_server.brokers.base import BrokerOrder, BrokerPosition
from execution_server.domain.money import ZERO, format_decimal
from execution_server.domain.orders import Order, OrderStatus


class DiscrepancyKind(enum.IntEnum):
    """The kinds of difference, numbered as in the contract (DISCREPANCY_KIND_POSITION_QUANTITY
    = 1, ...): the number is also the report order, and sorts at C speed."""

    POSITION_QUANTITY = 1
    POSITION_MISSING_LOCALLY = 2
    POSITION_MISSING_AT_BROKER = 3
    ORDER_STATUS = 4
    ORDER_UNKNOWN_LOCALLY = 5
    ORDER_MISSING_AT_BROKER = 6
    ORDER_FILLED_QUANTITY = 7


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference. order_id is ours (empty for an order we do not know); client_order_id
    is the key both sides share, so an order unknown here can still be named."""

    kind: DiscrepancyKind
    symbol: str = ""
    local_quantity: str = ""
    broker_quantity: str = ""
    order_id: str = ""
    detail: str = ""
    client_order_id: str = ""


@dataclass(frozen=True, slots=True)
class ReconciliationResult:
    """Every difference found at checked_at, in report order; empty when the books agree."""

    discrepancies: tuple[Discrepancy, ...]
    checked_at: datetime

    @property
    def has_discrepancies(self) -> bool:
        return bool(self.discrepancies)

    def of_kind(self, kind: DiscrepancyKind) -> tuple[Discrepancy, ...]:
        return tuple(d for d in self.discrepancies if d.kind is kind)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """One recorded run: what it found and, after repair, what still differs. Kept here, with
    the values it is made of, so that the store's codec can rebuild it without the runner."""

    run_id: int
    trigger: str
    repair: bool
    result: ReconciliationResult
    # After repair: what still differs (nothing when every difference was explained).
    unresolved: tuple[Discrepancy, ...] = ()

    @property
    def has_discrepancies(self) -> bool:
        return self.result.has_discrepancies


def reconcile(
    local_positions: Mapping[str, Decimal],
    local_open_orders: Sequence[Order],
    broker_positions: Sequence[BrokerPosition],
    broker_open_orders: Sequence[BrokerOrder],
    broker_lookup: Mapping[str, BrokerOrder | None],
    now: datetime,
) -> ReconciliationResult:
    """Positions and orders compared at once; discrepancies sorted by kind, symbol, order id."""
    found = compare_positions(local_positions, broker_positions)
    found += compare_orders(local_open_orders, broker_open_orders, broker_lookup)
    return ReconciliationResult(discrepancies=_sorted(found), checked_at=now)


def compare_positions(local: Mapping[str, Decimal], broker: Sequence[BrokerPosition]) -> list[Discrepancy]:
    """The account's quantity per symbol here against the broker's. A zero quantity is no
    position: a symbol flat here and absent there (or the reverse) agrees."""
    at_broker = _broker_quantities(broker)
    found: list[Discrepancy] = []
    for symbol, quantity in local.items():
        if quantity == 0:
            continue
        theirs = at_broker.get(symbol)
        if theirs is None:
            found.append(_position(DiscrepancyKind.POSITION_MISSING_AT_BROKER, symbol, quantity, ZERO))
        elif theirs != quantity:
            found.append(_position(DiscrepancyKind.POSITION_QUANTITY, symbol, quantity, theirs))
    for symbol, theirs in at_broker.items():
        if local.get(symbol, ZERO) == 0:
            found.append(_position(DiscrepancyKind.POSITION_MISSING_LOCALLY, symbol, ZERO, theirs))
    return found


def compare_orders(
    local_open: Sequence[Order],
    broker_open: Sequence[BrokerOrder],
    broker_lookup: Mapping[str, BrokerOrder | None],
) -> list[Discrepancy]:
    """Our open orders against the broker's, matched by client order id.

    broker_lookup holds the broker's answer (find_by_client_id) for our open orders missing
    from its open list: a closed order there is a status difference, None means the broker has
    never heard of it. An order still PENDING and not in flight was never sent, so its absence
    at the broker is expected. A closed order passed in local_open is used only to recognise a
    broker open order as ours (a status difference rather than an unknown order).
    """
    broker_by_id = {order.client_order_id: order for order in broker_open}
    found: list[Discrepancy] = []
    known: set[str] = set()
    for order in local_open:
        known.add(order.client_order_id)
        theirs = broker_by_id.get(order.client_order_id)
        if theirs is None and order.status.is_open:
            theirs = broker_lookup.get(order.client_order_id)
            if theirs is None:
                # PENDING and unknown there: never sent, or on its way (the OMS settles it by
                # client order id if it never arrives). Only an acknowledged order can be missing.
                if order.status is not OrderStatus.PENDING:
                    found.append(_missing_at_broker(order))
                continue
        if theirs is not None:
            found.extend(_order_differences(order, theirs))
    found.extend(_unknown_locally(order) for order in broker_open if order.client_order_id not in known)
    return found


def orders_to_look_up(local_orders: Sequence[Order], broker_open: Sequence[BrokerOrder]) -> list[str]:
    """Client order ids to ask the broker about (find_by_client_id) before compare_orders: open
    here, possibly sent, and absent from the broker's open list."""
    listed = {order.client_order_id for order in broker_open}
    return [
        order.client_order_id
        for order in local_orders
        if order.status.is_open and order.client_order_id not in listed and _maybe_sent(order)
    ]


def _maybe_sent(order: Order) -> bool:
    # An order still PENDING and not in flight has not left the process: the broker cannot know it.
    return order.status is not OrderStatus.PENDING or order.in_flight


def _order_differences(order: Order, theirs: BrokerOrder) -> Iterator[Discrepancy]:
    # Sent and working there, its acknowledgement still on its way here: no difference yet.
    on_its_way = order.in_flight and order.status is OrderStatus.PENDING and theirs.status is OrderStatus.SUBMITTED
    if order.status is not theirs.status and not on_its_way:
        yield Discrepancy(
            DiscrepancyKind.ORDER_STATUS,
            symbol=order.symbol,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            detail=f"status here {_status_here(order)}, at the broker {theirs.status.value} ({theirs.broker_status})",
        )
    if order.filled_quantity != theirs.filled_quantity:
        yield Discrepancy(
            DiscrepancyKind.ORDER_FILLED_QUANTITY,
            symbol=order.symbol,
            local_quantity=format_decimal(order.filled_quantity),
            broker_quantity=format_decimal(theirs.filled_quantity),
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            detail=f"filled quantity, of {format_decimal(order.quantity)} ordered",
        )


def _missing_at_broker(order: Order) -> Discrepancy:
    return Discrepancy(
        DiscrepancyKind.ORDER_MISSING_AT_BROKER,
        symbol=order.symbol,
        local_quantity=format_decimal(order.quantity),
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        detail=f"{_status_here(order)} here, unknown at the broker",
    )


def _unknown_locally(order: BrokerOrder) -> Discrepancy:
    return Discrepancy(
        DiscrepancyKind.ORDER_UNKNOWN_LOCALLY,
        symbol=order.symbol,
        broker_quantity=format_decimal(order.quantity),
        client_order_id=order.client_order_id,
        detail=(
            f"{order.status.value} at the broker ({order.broker_status}), broker order id {order.broker_order_id}, "
            f"{order.side.value} filled {format_decimal(order.filled_quantity)}"
        ),
    )


def _status_here(order: Order) -> str:
    return f"{order.status.value} (in flight)" if order.in_flight else order.status.value


def _position(kind: DiscrepancyKind, symbol: str, ours: Decimal, theirs: Decimal) -> Discrepancy:
    return Discrepancy(kind, symbol=symbol, local_quantity=format_decimal(ours), broker_quantity=format_decimal(theirs))


def _broker_quantities(broker: Iterable[BrokerPosition]) -> dict[str, Decimal]:
    # One row per symbol is what brokers send; should an adapter ever send two, their sum is
    # the account's holding. Zero rows are dropped: a flat position is no position.
    quantities: dict[str, Decimal] = {}
    for position in broker:
        quantities[position.symbol] = quantities.get(position.symbol, ZERO) + position.quantity
    return {symbol: quantity for symbol, quantity in quantities.items() if quantity != 0}


_REPORT_ORDER = operator.attrgetter("kind", "symbol", "order_id", "client_order_id")


def _sorted(found: list[Discrepancy]) -> tuple[Discrepancy, ...]:
    return tuple(sorted(found, key=_REPORT_ORDER))
