"""The watch view's reducer: what each update does to the open orders, fills and positions."""

from __future__ import annotations

from decimal import Decimal

from execution_client.ctl.watch_state import RECENT_FILLS, WatchState, applied, seeded, with_positions
from tests.ctl.builders import a_fill, a_position, an_order, an_update


def test_a_new_open_order_is_added_after_the_others() -> None:
    first, second = an_order(order_id="a"), an_order(order_id="b")
    state = applied(applied(WatchState(), an_update(1, first)), an_update(2, second))
    assert [o.order_id for o in state.open_orders] == ["a", "b"]
    assert state.last_sequence == 2


def test_an_update_replaces_the_order_in_its_place() -> None:
    state = seeded([an_order(order_id="a"), an_order(order_id="b")], [])
    state = applied(state, an_update(5, an_order(order_id="a", status="PARTIALLY_FILLED", filled_quantity=Decimal("4"))))
    assert [(o.order_id, o.status) for o in state.open_orders] == [("a", "PARTIALLY_FILLED"), ("b", "SUBMITTED")]


def test_an_order_reaching_a_final_state_leaves_the_open_orders() -> None:
    for final in ("FILLED", "CANCELLED", "REJECTED"):
        state = applied(seeded([an_order(order_id="a")], []), an_update(3, an_order(order_id="a", status=final)))
        assert state.open_orders == (), final


def test_a_final_order_never_seen_open_is_not_added() -> None:
    state = applied(WatchState(), an_update(1, an_order(status="REJECTED")))
    assert state.open_orders == ()
    assert state.updates_seen == 1


def test_a_fill_is_listed_newest_first_with_its_order() -> None:
    order = an_order(order_id="a", symbol="MSFT", side="SELL", strategy_id="pairs")
    state = applied(WatchState(), an_update(1, order, a_fill(execution_id="x1", quantity=Decimal("0.000001"))))
    state = applied(state, an_update(2, order, a_fill(execution_id="x2", price=Decimal("410.5"))))
    assert [f.execution_id for f in state.fills] == ["x2", "x1"]
    oldest = state.fills[1]
    assert (oldest.order_id, oldest.symbol, oldest.side, oldest.strategy_id) == ("a", "MSFT", "SELL", "pairs")
    assert oldest.quantity == Decimal("0.000001")


def test_only_the_most_recent_fills_are_kept() -> None:
    state = WatchState()
    for sequence in range(1, RECENT_FILLS + 4):
        state = applied(state, an_update(sequence, an_order(), a_fill(execution_id=f"x{sequence}")))
    assert len(state.fills) == RECENT_FILLS
    assert state.fills[0].execution_id == f"x{RECENT_FILLS + 3}"


def test_an_update_at_or_below_the_last_sequence_changes_nothing() -> None:
    state = applied(WatchState(), an_update(7, an_order(order_id="a")))
    assert applied(state, an_update(7, an_order(order_id="a", status="FILLED"), a_fill())) is state
    assert applied(state, an_update(3, an_order(order_id="b"))) is state


def test_seeding_keeps_only_open_orders_and_positions_are_replaced_whole() -> None:
    state = seeded([an_order(order_id="a"), an_order(order_id="b", status="FILLED")], [a_position()])
    assert [o.order_id for o in state.open_orders] == ["a"]
    state = with_positions(state, [a_position(symbol="MSFT"), a_position(symbol="TSLA")])
    assert [p.symbol for p in state.positions] == ["MSFT", "TSLA"]


def test_an_update_without_an_order_only_moves_the_sequence() -> None:
    state = seeded([an_order(order_id="a")], [])
    after = applied(state, an_update(4, None))
    assert after.open_orders == state.open_orders and after.last_sequence == 4


async def test_a_positions_refresh_keeps_the_updates_applied_while_it_was_asked() -> None:
    """The shell's side of the reducer: positions asked while updates arrive must not bring back
    the state from before them. The interleaving cannot be forced through a real server, so the
    client here is a stand-in whose get_positions waits until an update has been applied."""
    import asyncio

    from execution_client.ctl.watch_terminal import _View

    asked, answer = asyncio.Event(), asyncio.Event()

    class PositionsAfterAnUpdate:
        async def get_positions(self, strategy_id: str | None = None) -> list[object]:
            asked.set()
            await answer.wait()
            return [a_position()]

    view = _View(PositionsAfterAnUpdate(), "a", None, out=None)  # type: ignore[arg-type]
    view.fill_seen.set()
    refresh = asyncio.ensure_future(view.refresh_positions())
    await asked.wait()
    view.on_update(an_update(1, an_order(order_id="a")))
    answer.set()
    while not view.state.positions:
        await asyncio.sleep(0)
    refresh.cancel()
    assert [o.order_id for o in view.state.open_orders] == ["a"]
    assert view.state.last_sequence == 1
