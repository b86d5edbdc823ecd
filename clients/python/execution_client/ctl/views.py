"""What each command shows: the client's dataclasses as table rows, as `key: value` records,
and as JSON for scripts. Pure: no I/O."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from execution_client.ctl.tables import Column, decimal_text, render_table, time_text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return time_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={cell(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a CancelFailure, say
        return " ".join(f"{field.name}={cell(getattr(value, field.name))}" for field in dataclasses.fields(value))
    return str(value)


ORDER_COLUMNS = (
    ("order_id", Column("ORDER ID")),
    ("strategy_id", Column("STRATEGY")),
    ("symbol", Column("SYMBOL")),
    ("side", Column("SIDE")),
    ("order_type", Column("TYPE")),
    ("quantity", Column("QTY", right=True)),
    ("limit_price", Column("LIMIT", right=True)),
    ("status", Column("STATUS")),
    ("filled_quantity", Column("FILLED", right=True)),
    ("average_fill_price", Column("AVG PRICE", right=True)),
    ("updated_at", Column("UPDATED (UTC)")),
)
POSITION_COLUMNS = (
    ("strategy_id", Column("STRATEGY")),
    ("symbol", Column("SYMBOL")),
    ("quantity", Column("QTY", right=True)),
    ("average_entry_price", Column("AVG ENTRY", right=True)),
    ("realized_pnl", Column("REALIZED P&L", right=True)),
)
DISCREPANCY_COLUMNS = (
    ("kind", Column("KIND")),
    ("symbol", Column("SYMBOL")),
    ("local_quantity", Column("LOCAL QTY", right=True)),
    ("broker_quantity", Column("BROKER QTY", right=True)),
    ("order_id", Column("ORDER ID")),
    ("detail", Column("DETAIL")),
)


def table_of(columns: Sequence[tuple[str, Column]], items: Iterable[Any], empty: str = "(none)") -> str:
    rows = [[cell(getattr(item, name, None)) for name, _ in columns] for item in items]
    return render_table([column for _, column in columns], rows, empty=empty)


def record(item: Any) -> str:
    """Every field of a dataclass, one `name: value` line each, names aligned."""
    names = [field.name for field in dataclasses.fields(item)]
    width = max(len(name) for name in names)
    return "\n".join(f"{name + ':':<{width + 1}} {cell(getattr(item, name))}".rstrip() for name in names)


def reconcile_report(result: Any) -> str:
    header = (
        f"run {cell(result.run_id)} at {cell(result.checked_at)} (trigger {cell(result.trigger) or '-'}, "
        f"repair {cell(result.repair)}): "
        + ("discrepancies found" if result.has_discrepancies else "no discrepancies")
    )
    parts = [header]
    if result.discrepancies:
        parts.append(table_of(DISCREPANCY_COLUMNS, result.discrepancies))
    unresolved = getattr(result, "unresolved", None)
    if unresolved:
        parts += ["unresolved after repair:", table_of(DISCREPANCY_COLUMNS, unresolved)]
    return "\n".join(parts)


def to_jsonable(value: Any) -> Any:
    """Money as the exact decimal string, times as ISO 8601 in UTC, enums by name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    return value


def json_text(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, sort_keys=False)
