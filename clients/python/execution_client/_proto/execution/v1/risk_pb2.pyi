import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TradingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRADING_STATE_UNSPECIFIED: _ClassVar[TradingState]
    TRADING_STATE_ACTIVE: _ClassVar[TradingState]
    TRADING_STATE_REDUCING: _ClassVar[TradingState]
    TRADING_STATE_HALTED: _ClassVar[TradingState]
TRADING_STATE_UNSPECIFIED: TradingState
TRADING_STATE_ACTIVE: TradingState
TRADING_STATE_REDUCING: TradingState
TRADING_STATE_HALTED: TradingState

class GetRiskStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRiskStatusResponse(_message.Message):
    __slots__ = ("kill_switch_engaged", "kill_switch_reason", "trading_state", "reducing_strategies")
    class ReducingStrategiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KILL_SWITCH_ENGAGED_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_REASON_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    REDUCING_STRATEGIES_FIELD_NUMBER: _ClassVar[int]
    kill_switch_engaged: bool
    kill_switch_reason: str
    trading_state: TradingState
    reducing_strategies: _containers.ScalarMap[str, str]
    def __init__(self, kill_switch_engaged: _Optional[bool] = ..., kill_switch_reason: _Optional[str] = ..., trading_state: _Optional[_Union[TradingState, str]] = ..., reducing_strategies: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SetKillSwitchRequest(_message.Message):
    __slots__ = ("engaged", "reason", "cancel_open_orders", "reduce_only")
    ENGAGED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANCEL_OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    engaged: bool
    reason: str
    cancel_open_orders: bool
    reduce_only: bool
    def __init__(self, engaged: _Optional[bool] = ..., reason: _Optional[str] = ..., cancel_open_orders: _Optional[bool] = ..., reduce_only: _Optional[bool] = ...) -> None: ...

class SetKillSwitchResponse(_message.Message):
    __slots__ = ("kill_switch_engaged", "kill_switch_reason", "trading_state", "cancelled_order_ids", "cancel_failures")
    KILL_SWITCH_ENGAGED_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_REASON_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FAILURES_FIELD_NUMBER: _ClassVar[int]
    kill_switch_engaged: bool
    kill_switch_reason: str
    trading_state: TradingState
    cancelled_order_ids: _containers.RepeatedScalarFieldContainer[str]
    cancel_failures: _containers.RepeatedCompositeFieldContainer[CancelFailure]
    def __init__(self, kill_switch_engaged: _Optional[bool] = ..., kill_switch_reason: _Optional[str] = ..., trading_state: _Optional[_Union[TradingState, str]] = ..., cancelled_order_ids: _Optional[_Iterable[str]] = ..., cancel_failures: _Optional[_Iterable[_Union[CancelFailure, _Mapping]]] = ...) -> None: ...

class CancelFailure(_message.Message):
    __slots__ = ("order_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetRiskLimitsRequest(_message.Message):
    __slots__ = ("strategy_id",)
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    def __init__(self, strategy_id: _Optional[str] = ...) -> None: ...

class GetRiskLimitsResponse(_message.Message):
    __slots__ = ("limits", "strategy_id")
    class LimitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    limits: _containers.ScalarMap[str, str]
    strategy_id: str
    def __init__(self, limits: _Optional[_Mapping[str, str]] = ..., strategy_id: _Optional[str] = ...) -> None: ...

class ListOperatorActionsRequest(_message.Message):
    __slots__ = ("limit", "before_id")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_ID_FIELD_NUMBER: _ClassVar[int]
    limit: int
    before_id: int
    def __init__(self, limit: _Optional[int] = ..., before_id: _Optional[int] = ...) -> None: ...

class ListOperatorActionsResponse(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[OperatorAction]
    def __init__(self, actions: _Optional[_Iterable[_Union[OperatorAction, _Mapping]]] = ...) -> None: ...

class OperatorAction(_message.Message):
    __slots__ = ("id", "actor", "action", "details_json", "at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    actor: str
    action: str
    details_json: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., details_json: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
