"""A batch's statements as one statement, for PostgreSQL.

Each table's statement is rewritten to take its rows as one array per column, unnested in the
statement (INSERT ... SELECT * FROM unnest(...), UPDATE ... FROM unnest(...)), and the tables'
statements are joined as data-modifying CTEs: a batch is one round trip, not one per table.
A single statement is atomic by itself, so a batch that has opened no transaction (it read
nothing) needs none: BEGIN and COMMIT, two more round trips, are spared (store/bulk.py).

PostgreSQL runs a statement's CTEs on one snapshot, in no set order. That is sound here because
a batch writes each row once (store/transaction.py keeps an order's last version, a position's
last value), no statement reads what another writes, and foreign keys are checked at the end
of the statement, once every row is in.

Pure: SQL text in, SQL text out; the values are the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PARAMETER = re.compile(r"\$(\d+)\b")
_INSERT_VALUES = re.compile(r"^(INSERT INTO [^()]+ \([^()]*\)) VALUES \(([^()]*)\)(.*)$", re.DOTALL)
_MODIFIERS = re.compile(r"\([^()]*\)")
_ROWS = "_rows"


def set_based(sql: str, types: Sequence[str]) -> str | None:
    """`sql`, a statement for one row with plain parameters $1..$n, made to take parameter i as
    the array of every row's value i (`types[i-1]` is the column's SQL type). None when `sql`
    has a shape not known here: it then runs as an executemany."""
    count = len(types)
    if not count or sorted(_numbers(sql)) != list(range(1, count + 1)):
        return None  # each parameter used once: no other shape is written here
    # Cast without a length or precision: an explicit cast to VARCHAR(64) cuts a longer value
    # short, where the column's own assignment refuses it, as it does for a single row.
    arrays = ", ".join(f"${number}::{_MODIFIERS.sub('', type_)}[]" for number, type_ in enumerate(types, 1))
    insert = _INSERT_VALUES.match(sql)
    if insert is not None:
        head, values, tail = insert.groups()
        if values != ", ".join(f"${number}" for number in range(1, count + 1)):
            return None
        return f"{head} SELECT * FROM unnest({arrays}){tail}"  # the tail: ON CONFLICT ...
    if sql.startswith("UPDATE ") and sql.count(" WHERE ") == 1 and " FROM " not in sql:
        assignments, condition = (_PARAMETER.sub(rf"{_ROWS}.c\1", part) for part in sql.split(" WHERE "))
        columns = ", ".join(f"c{number}" for number in range(1, count + 1))
        return f"{assignments} FROM unnest({arrays}) AS {_ROWS}({columns}) WHERE {condition}"
    return None


def joined(statements: Sequence[tuple[str, int]]) -> str:
    """Set-based statements, each with its number of parameters, as one: the parameters
    numbered on from the statements before, every statement but the last a CTE."""
    renumbered = []
    offset = 0
    for sql, count in statements:
        renumbered.append(_PARAMETER.sub(lambda match, by=offset: f"${int(match.group(1)) + by}", sql))
        offset += count
    if len(renumbered) == 1:
        return renumbered[0]
    ctes = ", ".join(f"_write{index} AS ({sql})" for index, sql in enumerate(renumbered[:-1]))
    return f"WITH {ctes} {renumbered[-1]}"


def columns(rows: Sequence[Sequence[object]], count: int) -> list[list[object]]:
    """Rows of `count` values as `count` columns: the arrays set_based's statement takes."""
    if not rows:
        return [[] for _ in range(count)]
    return [list(column) for column in zip(*rows, strict=True)]


def _numbers(sql: str) -> list[int]:
    return [int(match.group(1)) for match in _PARAMETER.finditer(sql)]
