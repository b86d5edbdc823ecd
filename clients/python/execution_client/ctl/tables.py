"""Plain-text tables and the exact text forms of values: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    right: bool = False  # numbers line up on their last digit


def render_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], empty: str = "(none)") -> str:
    """Columns padded to their widest cell, two spaces apart, no trailing blanks."""
    if not rows:
        return empty
    widths = [max(len(column.title), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if column.right else cell.ljust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line([column.title for column in columns]), *(line(row) for row in rows)])


def decimal_text(value: Decimal | None) -> str:
    """The digits as the server sent them: never a float, never an exponent (str(Decimal('1E-7'))
    would be '1E-7'; the wire said '0.0000001')."""
    return "" if value is None else format(value, "f")


def time_text(value: datetime | None) -> str:
    """UTC to the millisecond, marked Z."""
    if value is None:
        return ""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
