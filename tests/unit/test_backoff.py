"""The one backoff schedule: doubling from the first wait, capped, restarted by reset()."""

from execution_server.backoff import Backoff


def test_waits_double_up_to_the_cap_and_start_again_after_a_reset() -> None:
    backoff = Backoff(first=0.1, cap=0.5)
    assert not backoff.failing
    assert [backoff.next_delay() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert backoff.failing
    backoff.reset()
    assert backoff.next_delay() == 0.1
