"""Pace: shut for the rest of a period after an open phase in which the service did live work;
open for a share of each period after a shut phase; open while the service is quiet."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execution_server.api.catch_up_pace import Pace


def test_readers_that_come_get_a_whole_open_period_first() -> None:
    pace = Pace(0.2, period=0.01)
    assert pace.start(activity=7) == 0.01 and pace.open


def test_a_quiet_service_keeps_the_gate_open() -> None:
    pace = Pace(0.2, period=0.01)
    pace.start(activity=7)
    for _ in range(5):
        assert pace.tick(activity=7) == 0.01
        assert pace.open


def test_live_work_shuts_the_gate_for_the_rest_of_the_period_then_opens_it_for_the_share() -> None:
    pace = Pace(0.2, period=0.01)
    pace.start(activity=7)
    assert pace.tick(activity=9) == pytest.approx(0.008) and not pace.open
    assert pace.tick(activity=9) == pytest.approx(0.002) and pace.open  # a shut phase always ends
    assert pace.tick(activity=9) == pytest.approx(0.01) and pace.open  # nothing since the last look


def test_work_done_while_shut_counts_at_the_next_look() -> None:
    """Sparse live work (one commit a cycle, landing in the shut phase) still shuts the gate."""
    pace = Pace(0.2, period=0.01)
    pace.start(activity=0)
    pace.tick(activity=1)  # shut
    pace.tick(activity=2)  # open: the commit came while shut
    assert pace.tick(activity=2) == pytest.approx(0.008) and not pace.open


@given(share=st.floats(0.01, 0.99), activity=st.lists(st.integers(0, 3), min_size=1, max_size=40))
def test_while_live_the_open_phases_are_at_most_the_share(share: float, activity: list[int]) -> None:
    """Over cycles in which every look sees new live work, open time is the share of the total."""
    pace = Pace(share, period=1.0)
    pace.start(activity=-1)
    opened = shut = 0.0
    for step, _ in enumerate(activity):
        was_open = pace.open
        length = pace.tick(activity=step)  # moves at every look
        if pace.open:
            opened += length
        else:
            shut += length
        assert was_open != pace.open  # always live: phases alternate
    if shut:
        assert opened <= share / (1 - share) * shut + share + 1e-9


def test_the_whole_loop_is_no_pace() -> None:
    assert not Pace(1.0).paced and Pace(0.5).paced


@pytest.mark.parametrize("share", [0, -0.1, 1.5])
def test_share_out_of_range_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        Pace(share)


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="period"):
        Pace(0.5, period=0)
