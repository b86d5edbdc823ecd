"""The typed Python client of execution-server: ExecutionClient (async) and
BlockingExecutionClient, models with Decimal and datetime, errors as ExecutionError."""

from execution_client.blocking import BlockingExecutionClient
from execution_client.client import ExecutionClient
from execution_client.errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    ExecutionError,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from execution_client.models import (
    Account,
    CancelFailure,
    Discrepancy,
    Fill,
    KillSwitchResult,
    OperatorAction,
    Order,
    OrderUpdate,
    Position,
    PriceSet,
    ReconcileResult,
    RiskLimits,
    RiskStatus,
)

__all__ = [
    "Account", "AlreadyExists", "BlockingExecutionClient", "CancelFailure", "Cancelled", "DeadlineExceeded",
    "Discrepancy", "ExecutionClient", "ExecutionError", "FailedPrecondition", "FieldViolation", "Fill", "Internal",
    "InvalidArgument", "KillSwitchResult", "NotFound", "OperatorAction", "Order", "OrderUpdate", "OutOfRange",
    "PermissionDenied", "Position", "PriceSet", "ReconcileResult", "ResourceExhausted", "RiskLimits", "RiskStatus",
    "Unauthenticated", "Unavailable",
]
__version__ = "0.1.0"
