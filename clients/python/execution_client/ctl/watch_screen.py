"""What the watch view draws: the screen as lines for a terminal, or one line per update when
the output is not a terminal. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from execution_client.ctl import views
from execution_client.ctl.tables import Column, render_table, time_text
from execution_client.ctl.watch_state import WatchState

# The `orders` table's columns, less the two a live view of open orders has no use for.
OPEN_ORDER_COLUMNS = tuple(
    column for column in views.ORDER_COLUMNS if column[0] not in {"average_fill_price", "updated_at"}
)
FILL_COLUMNS = (
    ("time", Column("TIME (UTC)")),
    ("order_id", Column("ORDER ID")),
    ("strategy_id", Column("STRATEGY")),
    ("symbol", Column("SYMBOL")),
    ("side", Column("SIDE")),
    ("quantity", Column("QTY", right=True)),
    ("price", Column("PRICE", right=True)),
)


def _section(title: str, columns: Sequence[tuple[str, Column]], items: Sequence[Any], room: int) -> list[str]:
    """A titled table cut to `room` lines, saying how many rows it left out."""
    shown = list(items)
    lines = views.table_of(columns, shown, empty="(none)").split("\n")
    if room >= 2 and len(lines) > room:
        keep = room - 1  # the header, rows, and one line saying what is hidden
        hidden = len(lines) - keep
        lines = lines[:keep] + [f"… {hidden} more"]
    return [f"{title} ({len(shown)})", *lines]


def screen(state: WatchState, *, address: str, strategy: str | None, now: datetime, width: int, height: int) -> list[str]:
    """The whole screen, each line at most `width` characters, at most `height` lines."""
    scope = f"strategy {strategy}" if strategy else "all strategies"
    header = (
        f"execution-ctl watch  {address}  {scope}  sequence {state.last_sequence}  "
        f"{time_text(now)}  (q quits)"
    )
    # Room below the header and the blank lines between sections, shared out: fills and
    # positions are short by nature, open orders take what is left.
    body = max(height - 4, 6)
    fills_room = min(len(state.fills) + 2, max(body // 4, 3))
    positions_room = min(len(state.positions) + 2, max(body // 4, 3))
    orders_room = max(body - fills_room - positions_room - 3, 3)
    lines = [
        header,
        "",
        *_section("OPEN ORDERS", OPEN_ORDER_COLUMNS, state.open_orders, orders_room),
        "",
        *_section("RECENT FILLS", FILL_COLUMNS, state.fills, fills_room),
        "",
        # Without a strategy the positions are the account's, which carry no strategy id.
        *_section("POSITIONS", views.POSITION_COLUMNS if strategy else views.POSITION_COLUMNS[1:],
                  state.positions, positions_room),
    ]
    return [line[:width] for line in lines[:height]]


def update_line(update: Any) -> str:
    """One update for a pipe or a log: sequence, what happened, the order, the fill if any."""
    order = update.order
    parts = [f"{update.sequence}", time_text(update.time), update.event_type or "-"]
    if order is not None:
        parts += [
            order.order_id,
            order.strategy_id,
            order.symbol,
            views.cell(order.side),
            views.cell(order.quantity),
            views.cell(order.status),
            f"filled={views.cell(order.filled_quantity)}",
        ]
    if update.fill is not None:
        parts.append(f"fill={views.cell(update.fill.quantity)}@{views.cell(update.fill.price)}")
    if getattr(update, "detail", ""):
        parts.append(f"detail={update.detail}")
    return " ".join(part for part in parts if part != "")
