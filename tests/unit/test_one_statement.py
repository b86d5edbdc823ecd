"""store/one_statement.py: a batch's statements rewritten to take their rows as arrays, and
joined into one statement (the PostgreSQL side is tested against the database in test_bulk.py)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from execution_server.store.one_statement import columns, joined, set_based


def test_an_insert_selects_from_the_unnested_arrays_cast_without_length_or_precision() -> None:
    sql = "INSERT INTO fills (execution_id, price, time) VALUES ($1, $2, $3)"
    assert set_based(sql, ["VARCHAR(128)", "NUMERIC(30, 10)", "TIMESTAMP WITH TIME ZONE"]) == (
        "INSERT INTO fills (execution_id, price, time) "
        "SELECT * FROM unnest($1::VARCHAR[], $2::NUMERIC[], $3::TIMESTAMP WITH TIME ZONE[])"
    )


def test_an_upsert_keeps_its_conflict_clause() -> None:
    sql = ("INSERT INTO positions (strategy_id, symbol, quantity) VALUES ($1, $2, $3) "
           "ON CONFLICT (strategy_id, symbol) DO UPDATE SET quantity = excluded.quantity")
    assert set_based(sql, ["VARCHAR", "VARCHAR", "NUMERIC"]) == (
        "INSERT INTO positions (strategy_id, symbol, quantity) SELECT * FROM unnest($1::VARCHAR[], $2::VARCHAR[], "
        "$3::NUMERIC[]) ON CONFLICT (strategy_id, symbol) DO UPDATE SET quantity = excluded.quantity"
    )


def test_an_update_by_key_joins_the_unnested_rows() -> None:
    sql = "UPDATE orders SET status=$1, filled_quantity=$2 WHERE orders.order_id = $3"
    assert set_based(sql, ["VARCHAR(24)", "NUMERIC", "VARCHAR(64)"]) == (
        "UPDATE orders SET status=_rows.c1, filled_quantity=_rows.c2 "
        "FROM unnest($1::VARCHAR[], $2::NUMERIC[], $3::VARCHAR[]) AS _rows(c1, c2, c3) WHERE orders.order_id = _rows.c3"
    )


def test_a_shape_it_does_not_know_is_left_to_executemany() -> None:
    assert set_based("DELETE FROM orders WHERE order_id = $1", ["VARCHAR"]) is None
    assert set_based("INSERT INTO t (a, b) VALUES ($1, $1)", ["TEXT", "TEXT"]) is None  # a parameter twice
    assert set_based("INSERT INTO t (a, b) VALUES ($2, $1)", ["TEXT", "TEXT"]) is None  # not in column order
    assert set_based("INSERT INTO t (a) VALUES ($1)", ["TEXT", "TEXT"]) is None  # a type with no parameter
    assert set_based("INSERT INTO t (a, b) VALUES ($1, now())", ["TEXT"]) is None  # not only parameters
    assert set_based("UPDATE t SET a=$1 FROM u WHERE t.id = u.id AND u.k = $2", ["TEXT", "TEXT"]) is None
    assert set_based("INSERT INTO t (a) VALUES ($1)", []) is None


def test_joined_statements_number_their_parameters_on_and_all_but_the_last_are_ctes() -> None:
    first = "INSERT INTO a (x, y) SELECT * FROM unnest($1::TEXT[], $2::TEXT[])"
    second = "UPDATE b SET x=_rows.c1 FROM unnest($1::TEXT[], $2::TEXT[]) AS _rows(c1, c2) WHERE b.id = _rows.c2"
    third = "INSERT INTO c (x) SELECT * FROM unnest($1::BIGINT[])"
    assert joined([(first, 2)]) == first
    assert joined([(first, 2), (second, 2), (third, 1)]) == (
        "WITH _write0 AS (INSERT INTO a (x, y) SELECT * FROM unnest($1::TEXT[], $2::TEXT[])), "
        "_write1 AS (UPDATE b SET x=_rows.c1 FROM unnest($3::TEXT[], $4::TEXT[]) AS _rows(c1, c2) WHERE b.id = _rows.c2) "
        "INSERT INTO c (x) SELECT * FROM unnest($5::BIGINT[])"
    )


@given(st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=6))
def test_joined_uses_every_parameter_once_in_order(counts: list[int]) -> None:
    statements = [
        (set_based(f"INSERT INTO t{index} ({', '.join(f'c{i}' for i in range(count))}) "
                   f"VALUES ({', '.join(f'${i}' for i in range(1, count + 1))})", ["TEXT"] * count), count)
        for index, count in enumerate(counts)
    ]
    assert all(sql is not None for sql, _ in statements)
    numbers = [int(number) for number in re.findall(r"\$(\d+)", joined(statements))]  # type: ignore[arg-type]
    assert numbers == list(range(1, sum(counts) + 1))


def test_rows_become_one_array_per_column() -> None:
    assert columns([[1, "a", None], [2, "b", True]], 3) == [[1, 2], ["a", "b"], [None, True]]
    assert columns([], 2) == [[], []]
