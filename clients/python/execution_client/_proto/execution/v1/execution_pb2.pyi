import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_STOP: _ClassVar[OrderType]
    ORDER_TYPE_STOP_LIMIT: _ClassVar[OrderType]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_DAY: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GTC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_IOC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_FOK: _ClassVar[TimeInForce]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING: _ClassVar[OrderStatus]
    ORDER_STATUS_SUBMITTED: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]

class DiscrepancyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCREPANCY_KIND_UNSPECIFIED: _ClassVar[DiscrepancyKind]
    DISCREPANCY_KIND_POSITION_QUANTITY: _ClassVar[DiscrepancyKind]
    DISCREPANCY_KIND_POSITION_MISSING_LOCALLY: _ClassVar[DiscrepancyKind]
    DISCREPANCY_KIND_POSITION_MISSING_AT_BROKER: _ClassVar[DiscrepancyKind]
    DISCREPANCY_KIND_ORDER_STATUS: _ClassVar[DiscrepancyKind]
    DISCREPANCY_KIND_ORDER_UNKNOWN_LOCALLY: _ClassVar[DiscrepancyKind]
    DISCREPANCY_KIND_ORDER_MISSING_AT_BROKER: _ClassVar[DiscrepancyKind]
    DISCREPANCY_KIND_ORDER_FILLED_QUANTITY: _ClassVar[DiscrepancyKind]
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_MARKET: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_STOP: OrderType
ORDER_TYPE_STOP_LIMIT: OrderType
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_DAY: TimeInForce
TIME_IN_FORCE_GTC: TimeInForce
TIME_IN_FORCE_IOC: TimeInForce
TIME_IN_FORCE_FOK: TimeInForce
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PENDING: OrderStatus
ORDER_STATUS_SUBMITTED: OrderStatus
ORDER_STATUS_PARTIALLY_FILLED: OrderStatus
ORDER_STATUS_FILLED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
DISCREPANCY_KIND_UNSPECIFIED: DiscrepancyKind
DISCREPANCY_KIND_POSITION_QUANTITY: DiscrepancyKind
DISCREPANCY_KIND_POSITION_MISSING_LOCALLY: DiscrepancyKind
DISCREPANCY_KIND_POSITION_MISSING_AT_BROKER: DiscrepancyKind
DISCREPANCY_KIND_ORDER_STATUS: DiscrepancyKind
DISCREPANCY_KIND_ORDER_UNKNOWN_LOCALLY: DiscrepancyKind
DISCREPANCY_KIND_ORDER_MISSING_AT_BROKER: DiscrepancyKind
DISCREPANCY_KIND_ORDER_FILLED_QUANTITY: DiscrepancyKind

class PlaceOrderRequest(_message.Message):
    __slots__ = ("client_order_id", "strategy_id", "symbol", "side", "quantity", "order_type", "limit_price", "stop_price", "time_in_force")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    quantity: str
    order_type: OrderType
    limit_price: str
    stop_price: str
    time_in_force: TimeInForce
    def __init__(self, client_order_id: _Optional[str] = ..., strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., quantity: _Optional[str] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., limit_price: _Optional[str] = ..., stop_price: _Optional[str] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ...) -> None: ...

class PlaceOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("order_id", "client_order_id", "broker_order_id", "strategy_id", "symbol", "side", "order_type", "time_in_force", "quantity", "limit_price", "stop_price", "status", "filled_quantity", "average_fill_price", "reject_reason", "created_at", "updated_at", "broker_status", "in_flight", "cancel_reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_FILL_PRICE_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    BROKER_STATUS_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    client_order_id: str
    broker_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: str
    limit_price: str
    stop_price: str
    status: OrderStatus
    filled_quantity: str
    average_fill_price: str
    reject_reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    broker_status: str
    in_flight: bool
    cancel_reason: str
    def __init__(self, order_id: _Optional[str] = ..., client_order_id: _Optional[str] = ..., broker_order_id: _Optional[str] = ..., strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ..., quantity: _Optional[str] = ..., limit_price: _Optional[str] = ..., stop_price: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., filled_quantity: _Optional[str] = ..., average_fill_price: _Optional[str] = ..., reject_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., broker_status: _Optional[str] = ..., in_flight: _Optional[bool] = ..., cancel_reason: _Optional[str] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("order_id", "client_order_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    client_order_id: str
    def __init__(self, order_id: _Optional[str] = ..., client_order_id: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id", "client_order_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    client_order_id: str
    def __init__(self, order_id: _Optional[str] = ..., client_order_id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("strategy_id", "symbol", "statuses", "page_size", "page_token")
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    symbol: str
    statuses: _containers.RepeatedScalarFieldContainer[OrderStatus]
    page_size: int
    page_token: str
    def __init__(self, strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[OrderStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[Order]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamOrderUpdatesRequest(_message.Message):
    __slots__ = ("strategy_id", "symbol", "after_sequence")
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    symbol: str
    after_sequence: int
    def __init__(self, strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class StreamOrderUpdatesResponse(_message.Message):
    __slots__ = ("sequence", "order", "fill", "time", "event_type", "detail")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FILL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    order: Order
    fill: Fill
    time: _timestamp_pb2.Timestamp
    event_type: str
    detail: str
    def __init__(self, sequence: _Optional[int] = ..., order: _Optional[_Union[Order, _Mapping]] = ..., fill: _Optional[_Union[Fill, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_type: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class StreamOrderUpdateBatchesRequest(_message.Message):
    __slots__ = ("strategy_id", "symbol", "after_sequence", "max_updates")
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MAX_UPDATES_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    symbol: str
    after_sequence: int
    max_updates: int
    def __init__(self, strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., after_sequence: _Optional[int] = ..., max_updates: _Optional[int] = ...) -> None: ...

class StreamOrderUpdateBatchesResponse(_message.Message):
    __slots__ = ("updates",)
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[StreamOrderUpdatesResponse]
    def __init__(self, updates: _Optional[_Iterable[_Union[StreamOrderUpdatesResponse, _Mapping]]] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ("execution_id", "quantity", "price", "time")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    quantity: str
    price: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, execution_id: _Optional[str] = ..., quantity: _Optional[str] = ..., price: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPositionsRequest(_message.Message):
    __slots__ = ("strategy_id",)
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    def __init__(self, strategy_id: _Optional[str] = ...) -> None: ...

class GetPositionsResponse(_message.Message):
    __slots__ = ("positions",)
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    def __init__(self, positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("symbol", "quantity", "average_entry_price", "realized_pnl", "strategy_id")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    quantity: str
    average_entry_price: str
    realized_pnl: str
    strategy_id: str
    def __init__(self, symbol: _Optional[str] = ..., quantity: _Optional[str] = ..., average_entry_price: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., strategy_id: _Optional[str] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("repair",)
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    repair: bool
    def __init__(self, repair: _Optional[bool] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("has_discrepancies", "discrepancies", "checked_at", "run_id", "unresolved", "trigger", "repair")
    HAS_DISCREPANCIES_FIELD_NUMBER: _ClassVar[int]
    DISCREPANCIES_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    UNRESOLVED_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    has_discrepancies: bool
    discrepancies: _containers.RepeatedCompositeFieldContainer[Discrepancy]
    checked_at: _timestamp_pb2.Timestamp
    run_id: int
    unresolved: _containers.RepeatedCompositeFieldContainer[Discrepancy]
    trigger: str
    repair: bool
    def __init__(self, has_discrepancies: _Optional[bool] = ..., discrepancies: _Optional[_Iterable[_Union[Discrepancy, _Mapping]]] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., run_id: _Optional[int] = ..., unresolved: _Optional[_Iterable[_Union[Discrepancy, _Mapping]]] = ..., trigger: _Optional[str] = ..., repair: _Optional[bool] = ...) -> None: ...

class ListReconcileRunsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListReconcileRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[ReconcileResponse]
    def __init__(self, runs: _Optional[_Iterable[_Union[ReconcileResponse, _Mapping]]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("cash", "buying_power", "equity")
    CASH_FIELD_NUMBER: _ClassVar[int]
    BUYING_POWER_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    cash: str
    buying_power: str
    equity: str
    def __init__(self, cash: _Optional[str] = ..., buying_power: _Optional[str] = ..., equity: _Optional[str] = ...) -> None: ...

class Discrepancy(_message.Message):
    __slots__ = ("kind", "symbol", "local_quantity", "broker_quantity", "order_id", "detail", "client_order_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    LOCAL_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    BROKER_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    kind: DiscrepancyKind
    symbol: str
    local_quantity: str
    broker_quantity: str
    order_id: str
    detail: str
    client_order_id: str
    def __init__(self, kind: _Optional[_Union[DiscrepancyKind, str]] = ..., symbol: _Optional[str] = ..., local_quantity: _Optional[str] = ..., broker_quantity: _Optional[str] = ..., order_id: _Optional[str] = ..., detail: _Optional[str] = ..., client_order_id: _Optional[str] = ...) -> None: ...
