"""The simulated broker's memory across restarts: an append-only JSON-lines file of facts.

Each change is written with one os.write before the broker answers, so it survives a
SIGKILL of the process (the page cache outlives it); no fsync, so not a power loss. At
start the file is replayed and rewritten compacted: one account line, one line per order.
Decimals are written as strings, so what is read back is exactly what was written. A torn
last line (the process died mid-write) is ignored; damage anywhere else is an error.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from execution_server.brokers.base import BrokerFill
from execution_server.brokers.simulated.facts import (
    AccountRestored,
    Accepted,
    Activated,
    Closed,
    Fact,
    Filled,
    OrderRestored,
    PositionSet,
    PriceSet,
    Triggered,
)
from execution_server.domain.orders import OrderType, Side, TimeInForce


class CorruptJournal(Exception):
    def __init__(self, path: Path, line_number: int, reason: str) -> None:
        super().__init__(f"{path}:{line_number}: {reason}")


_KINDS: dict[str, type] = {
    "accepted": Accepted,
    "activated": Activated,
    "triggered": Triggered,
    "filled": Filled,
    "closed": Closed,
    "price": PriceSet,
    "position": PositionSet,
    "account": AccountRestored,
    "order": OrderRestored,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _KINDS.values()}

_DECIMAL_FIELDS = frozenset(
    (
        "quantity", "limit_price", "stop_price", "price", "cumulative_quantity", "available",
        "average_entry_price", "cash", "filled_quantity", "average_fill_price",
    )
)  # fmt: skip
_TIME_FIELDS = frozenset(("at", "accepted_at"))
_ENUMS: dict[str, type[Enum]] = {"side": Side, "order_type": OrderType, "time_in_force": TimeInForce}
_JSON = json.JSONEncoder(separators=(",", ":"))


def _nested(value: tuple[Any, ...]) -> list[Any]:
    """fills, prices, positions: lists of small dataclasses, written as lists of fields."""
    return [[_encode_scalar(getattr(item, f.name)) for f in dataclasses.fields(item)] for item in value]


def _encode_scalar(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _encoder_for(name: str) -> Callable[[Any], Any] | None:
    if name in _DECIMAL_FIELDS:
        return str
    if name in _TIME_FIELDS:
        return datetime.isoformat
    if name in _ENUMS:
        return _enum_value
    if name in ("fills", "prices", "positions"):
        return _nested
    return None


def _enum_value(value: Enum) -> Any:
    return value.value


# Per kind: (field, converter), worked out once; encoding is on every order's path.
_ENCODERS = {cls: tuple((name, _encoder_for(name)) for name in names) for cls, names in _FIELDS.items()}


def encode(fact: Fact) -> str:
    cls = type(fact)
    record: dict[str, Any] = {"k": _KIND_OF[cls]}
    for name, convert in _ENCODERS[cls]:
        value = getattr(fact, name)
        record[name] = value if convert is None or value is None else convert(value)
    return _JSON.encode(record)


def decode(line: str) -> Fact:
    record = json.loads(line)
    cls = _KINDS[record.pop("k")]
    values = {name: _decode_field(name, record[name]) for name in _FIELDS[cls]}
    return cls(**values)  # type: ignore[no-any-return]


def _decode_field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "fills":
        return tuple(BrokerFill(e, Decimal(q), Decimal(p), datetime.fromisoformat(t)) for e, q, p, t in value)
    if name == "prices":
        return tuple(PriceSet(s, Decimal(p), _optional_decimal(a), datetime.fromisoformat(t)) for s, p, a, t in value)
    if name == "positions":
        return tuple(PositionSet(s, Decimal(q), _optional_decimal(a)) for s, q, a in value)
    if name in _DECIMAL_FIELDS:
        return Decimal(value)
    if name in _TIME_FIELDS:
        return datetime.fromisoformat(value)
    if name in _ENUMS:
        return _ENUMS[name](value)
    return value


def _optional_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def read(path: Path) -> Iterator[Fact]:
    """Every fact in the file, oldest first; nothing if it does not exist."""
    try:
        data = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    lines = data.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        torn_tail = number == len(lines)  # no newline after it: the write was cut short
        try:
            fact = decode(line)
        except (ValueError, KeyError, TypeError) as error:
            if torn_tail:
                return
            raise CorruptJournal(path, number, str(error)) from error
        yield fact


class Journal:
    """An open journal file. `append` writes one batch of facts with a single os.write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def compact(self, facts: Iterable[Fact]) -> None:
        """Replace the file with `facts` (a snapshot) atomically, then open it for appending."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".compacting")
        temporary.write_text("".join(encode(fact) + "\n" for fact in facts), encoding="utf-8")
        os.replace(temporary, self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, facts: Sequence[Fact]) -> None:
        if self._fd is None:
            raise RuntimeError(f"journal {self.path} is not open")
        data = "".join([encode(fact) + "\n" for fact in facts]).encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class MemoryJournal:
    """No file: the broker forgets everything when the process ends (state_path None)."""

    def compact(self, facts: Iterable[Fact]) -> None:
        pass

    def append(self, facts: Sequence[Fact]) -> None:
        pass

    def close(self) -> None:
        pass
