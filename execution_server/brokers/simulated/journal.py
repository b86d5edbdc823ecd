"""The simulated broker's memory across restarts: an append-only JSON-lines file of facts.

Each change is written with one os.write before the broker answers, so it survives a
SIGKILL of the process (the page cache outlives it); no fsync, so not a power loss. At
start the file is replayed and rewritten compacted: one account line, one line per order;
while running it is compacted again whenever it has grown well past that (CompactionPolicy).
A compaction writes a new file, fsyncs it and renames it over the old one: a crash at any
point leaves either the old journal or the new, each a complete account of the same state.
Decimals are written as strings, so what is read back is exactly what was written. A torn
last line (the process died mid-write) is ignored; damage anywhere else is an error.
Journals written before ids carried the broker's lifetime read as they always did.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring_ascii
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

# encode() writes each line itself rather than building a dict for json: it is on every
# order's path, and a dict plus the json machinery cost three times as much. The text is
# byte for byte what _JSON would write for that dict (test_journal_encoding checks it), so journals
# from before and after read the same.


def _plain(value: Any) -> str:
    """A str, int or bool as _JSON writes it; anything else through _JSON itself."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)  # what _JSON uses for strings (ensure_ascii)
    if kind is int:
        return repr(value)
    if kind is bool:
        return "true" if value else "false"
    return _JSON.encode(value)


def _decimal_text(value: Decimal) -> str:
    return '"' + str(value) + '"'  # digits, sign, point, exponent: nothing to escape


# One timestamp is usually shared by a batch of facts, and isoformat is slow (~1 µs), so
# the last one is remembered. By identity, not equality: equal times in different zones
# have different text. A single tuple, so the pair is always consistent.
_last_time: tuple[datetime | None, str] = (None, "")


def _time_text(value: datetime) -> str:
    global _last_time
    last, text = _last_time
    if value is not last:
        text = '"' + datetime.isoformat(value) + '"'
        _last_time = (value, text)
    return text


def _nested_text(value: tuple[Any, ...]) -> str:
    """fills, prices, positions: lists of small dataclasses, written as lists of fields."""
    return _JSON.encode([[_encode_scalar(getattr(item, f.name)) for f in dataclasses.fields(item)] for item in value])


def _encode_scalar(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


_ENUM_TEXT = {member: _plain(member.value) for enum in _ENUMS.values() for member in enum}


def _text_for(name: str) -> Callable[[Any], str]:
    if name in _DECIMAL_FIELDS:
        return _decimal_text
    if name in _TIME_FIELDS:
        return _time_text
    if name in _ENUMS:
        return _ENUM_TEXT.__getitem__
    if name in ("fills", "prices", "positions"):
        return _nested_text
    return _plain


# Per kind, worked out once: the line's opening, then (',"field":', field, to JSON text).
_ENCODERS = {
    cls: ('{"k":' + _plain(_KIND_OF[cls]), tuple(("," + _plain(name) + ":", name, _text_for(name)) for name in names))
    for cls, names in _FIELDS.items()
}


def encode(fact: Fact) -> str:
    """One journal line (without its newline): the fact's kind, then its fields in order."""
    opening, fields = _ENCODERS[type(fact)]
    parts = [opening]
    for prefix, name, text_of in fields:
        value = getattr(fact, name)
        parts.append(prefix)
        parts.append("null" if value is None else text_of(value))
    parts.append("}")
    return "".join(parts)


def decode(line: str) -> Fact:
    record = json.loads(line)
    cls = _KINDS[record.pop("k")]
    # A field added since the line was written (a lifetime) is absent: its default applies.
    # A missing field without one makes cls() raise TypeError, a damaged line.
    values = {name: _decode_field(name, record[name]) for name in _FIELDS[cls] if name in record}
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


@dataclass(frozen=True, slots=True)
class CompactionPolicy:
    """When a running journal is rewritten as a snapshot: once it holds more than `min_lines`
    lines and more than `growth` times the lines a snapshot would take. The file then never
    exceeds the larger of the two, and each compaction follows at least (growth - 1) times a
    snapshot's worth of appends, so its cost per fact appended stays constant however long the
    broker runs (a ticker alone appends a line per symbol every tick)."""

    min_lines: int = 10_000
    growth: int = 4

    def due(self, lines: int, snapshot_lines: int) -> bool:
        return lines > max(self.min_lines, self.growth * snapshot_lines)


class Journal:
    """An open journal file. `append` writes one batch of facts with a single os.write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.lines = 0  # in the file now: what a compaction policy weighs

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def compact(self, facts: Iterable[Fact]) -> None:
        """Replace the file with `facts` (a snapshot) atomically, then open it for appending."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = [encode(fact) + "\n" for fact in facts]
        temporary = self.path.with_name(self.path.name + ".compacting")
        with open(temporary, "w", encoding="utf-8") as file:
            file.write("".join(lines))
            file.flush()
            # On disk before the rename: otherwise a power loss could leave the new name on a
            # file whose contents never arrived, and the old journal already gone.
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        _fsync_directory(self.path.parent)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.lines = len(lines)

    def append(self, facts: Sequence[Fact]) -> None:
        if self._fd is None:
            raise RuntimeError(f"journal {self.path} is not open")
        data = "".join([encode(fact) + "\n" for fact in facts]).encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.lines += len(facts)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class MemoryJournal:
    """No file: the broker forgets everything when the process ends (state_path None)."""

    lines = 0  # nothing is kept, so nothing ever needs compacting
    is_open = False

    def compact(self, facts: Iterable[Fact]) -> None:
        pass

    def append(self, facts: Sequence[Fact]) -> None:
        pass

    def close(self) -> None:
        pass


def _fsync_directory(directory: Path) -> None:
    """Makes a rename in `directory` durable (POSIX: the entry lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
