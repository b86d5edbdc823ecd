"""HeapTrim: memory is handed back once after a mass close of streams, when the count has
settled; not for a few closes, not while streams keep closing, and not again until another
drop. And the real malloc_trim, where the C library has it (glibc, as here and in the image)."""

from __future__ import annotations

import asyncio

from execution_server.heap_trim import HeapTrim, malloc_trim


def _looks(counts: list[int], after_closes: int = 16) -> list[bool]:
    counts = list(counts)
    current = [counts.pop(0)]
    trim = HeapTrim(lambda: current[0], lambda: None, after_closes=after_closes)
    due = []
    for count in counts:
        current[0] = count
        due.append(trim.due())
    return due


def test_a_mass_close_is_trimmed_once_when_the_count_holds_still() -> None:
    # 200 streams open, then closing over three looks, then settled at 0.
    assert _looks([0, 200, 200, 120, 40, 0, 0, 0, 0]) == [False, False, False, False, False, True, False, False]


def test_a_few_closes_or_a_rising_count_never_trim() -> None:
    assert _looks([10, 20, 30, 25, 25, 18, 18, 40, 40]) == [False] * 8


def test_every_further_drop_of_the_threshold_is_trimmed_again() -> None:
    assert _looks([0, 40, 40, 20, 20, 20, 2, 2], after_closes=16) == [False, False, False, True, False, False, True]


def test_the_background_task_trims_on_its_own_looks() -> None:
    async def scenario() -> int:
        current, trimmed = [50], []
        trim = HeapTrim(lambda: current[0], lambda: trimmed.append(1), look_seconds=0.01)
        trim.start()
        current[0] = 0
        for _ in range(500):
            if trimmed:
                break
            await asyncio.sleep(0.01)
        await trim.stop()
        return len(trimmed)

    assert asyncio.run(scenario()) == 1


def test_this_machines_c_library_has_malloc_trim_and_it_runs() -> None:
    trim = malloc_trim()
    assert trim is not None
    assert trim() in (0, 1)  # 1: memory was released, 0: there was none to release
