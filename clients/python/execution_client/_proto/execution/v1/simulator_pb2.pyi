from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SetPriceRequest(_message.Message):
    __slots__ = ("symbol", "price", "available_quantity")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    price: str
    available_quantity: str
    def __init__(self, symbol: _Optional[str] = ..., price: _Optional[str] = ..., available_quantity: _Optional[str] = ...) -> None: ...

class SetPriceResponse(_message.Message):
    __slots__ = ("symbol", "price", "fills")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    FILLS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    price: str
    fills: int
    def __init__(self, symbol: _Optional[str] = ..., price: _Optional[str] = ..., fills: _Optional[int] = ...) -> None: ...

class CloseSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CloseSessionResponse(_message.Message):
    __slots__ = ("expired_broker_order_ids",)
    EXPIRED_BROKER_ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    expired_broker_order_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, expired_broker_order_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SetBrokerPositionRequest(_message.Message):
    __slots__ = ("symbol", "quantity", "average_entry_price")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    quantity: str
    average_entry_price: str
    def __init__(self, symbol: _Optional[str] = ..., quantity: _Optional[str] = ..., average_entry_price: _Optional[str] = ...) -> None: ...

class SetBrokerPositionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CancelAtBrokerRequest(_message.Message):
    __slots__ = ("broker_order_id",)
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    broker_order_id: str
    def __init__(self, broker_order_id: _Optional[str] = ...) -> None: ...

class CancelAtBrokerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LoseEventsRequest(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class LoseEventsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
