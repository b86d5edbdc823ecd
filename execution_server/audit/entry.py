"""One operator action as the audit trail keeps it, and the bounded JSON of its details. Pure.

The actor is read from the call being served when the entry is made (`caller()` is a
ContextVar of the RPC's task): the writer that stores it runs in a task of its own, where
the caller is no longer known.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from execution_server.auth.principal import caller

# What one action's details may take, as JSON text: an operator's reason or a list of the
# orders a kill switch cancelled is kept readable; an audit row is never a way to fill the database.
MAX_DETAILS_CHARS = 4096
MAX_TEXT_CHARS = 256
MAX_LIST_ITEMS = 50


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An action about to be recorded: who, which action (the RPC's name), and its details."""

    actor: str
    action: str
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def details_json(self) -> str:
        return bounded_json(self.details)


@dataclass(frozen=True, slots=True)
class OperatorAction:
    """An action as recorded."""

    id: int
    at: datetime
    actor: str
    action: str
    details_json: str


def by_caller(action: str, details: Mapping[str, Any]) -> AuditEntry:
    """The entry for an action of the call being served, in the caller's name."""
    return AuditEntry(caller().name, action, MappingProxyType(dict(details)))


def bounded_json(details: Mapping[str, Any]) -> str:
    """Compact, key-sorted JSON of at most MAX_DETAILS_CHARS: long strings are cut to a prefix,
    long lists to their first items with the full count beside them (`<key>_count`)."""
    full = json.dumps(_bounded(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    text, prefix = full, MAX_DETAILS_CHARS // 2
    while len(text) > MAX_DETAILS_CHARS:  # escaping can grow a prefix: shrink it until it fits
        text = json.dumps({"truncated": True, "prefix": full[:prefix]}, ensure_ascii=False)
        prefix //= 2
    return text


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT_CHARS else value[:MAX_TEXT_CHARS] + "…"
    if isinstance(value, Mapping):
        bounded: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, list | tuple) and len(item) > MAX_LIST_ITEMS:
                bounded[f"{key}_count"] = len(item)
            bounded[str(key)] = _bounded(item)
        return bounded
    if isinstance(value, list | tuple):
        return [_bounded(item) for item in value[:MAX_LIST_ITEMS]]
    return value
