"""The process computes in the engine's decimal context (domain.money.ENGINE), wherever it runs:
the importing thread, its asyncio tasks, and threads started later (aiosqlite's worker)."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal, getcontext

from execution_server.domain.money import ENGINE_DIGITS, MAX_DIGITS

QUANTITY = Decimal("123456789012345678901234.123456789012")  # MAX_DIGITS digits
TINY = Decimal("0.000000000001")


def exact_sum() -> Decimal:
    return QUANTITY + TINY  # 37 digits: rounded in the default 28-digit context


def test_the_declared_digits_fit_the_context_many_times_over() -> None:
    assert len(QUANTITY.as_tuple().digits) == MAX_DIGITS
    assert getcontext().prec == ENGINE_DIGITS > 2 * MAX_DIGITS


def test_sums_are_exact_in_this_thread() -> None:
    assert str(exact_sum()) == "123456789012345678901234.123456789013"


def test_sums_are_exact_in_a_thread_started_later() -> None:
    results: list[Decimal] = []
    worker = threading.Thread(target=lambda: results.append(exact_sum()))
    worker.start()
    worker.join()
    assert results == [Decimal("123456789012345678901234.123456789013")]


def test_sums_are_exact_in_an_asyncio_task() -> None:
    async def in_task() -> Decimal:
        return exact_sum()

    async def main() -> Decimal:
        return await asyncio.create_task(in_task())

    assert asyncio.run(main()) == Decimal("123456789012345678901234.123456789013")
