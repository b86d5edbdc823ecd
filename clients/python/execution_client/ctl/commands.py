"""The one-shot commands: each asks the server through the blocking client and returns what to
print and the exit code. Errors are left to the caller (main.py maps them to exit codes)."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from execution_client.ctl import views
from execution_client.ctl.arguments import OPEN_STATUSES
from execution_client.ctl.exit_codes import ExitCode

# The server's largest page; a smaller --limit asks for only what it shows.
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str
    code: ExitCode = ExitCode.OK


def _shown(args: argparse.Namespace, value: Any, table: Callable[[], str]) -> str:
    return views.json_text(value) if args.json else table()


def statuses_for(asked: list[str] | None) -> list[str] | None:
    """OPEN stands for every state an order can still change from; duplicates dropped."""
    if not asked:
        return None
    expanded = itertools.chain.from_iterable(OPEN_STATUSES if status == "OPEN" else (status,) for status in asked)
    return list(dict.fromkeys(expanded))


def orders(client: Any, args: argparse.Namespace) -> Outcome:
    page_size = min(args.limit, MAX_PAGE_SIZE) if args.limit else None
    listing = client.list_orders(
        strategy_id=args.strategy, symbol=args.symbol, status=statuses_for(args.status), page_size=page_size
    )
    found = list(itertools.islice(listing, args.limit))
    return Outcome(_shown(args, found, lambda: views.table_of(views.ORDER_COLUMNS, found, empty="(no orders)")))


def order(client: Any, args: argparse.Namespace) -> Outcome:
    found = client.get_order(args.order_id)
    return Outcome(_shown(args, found, lambda: views.record(found)))


def cancel(client: Any, args: argparse.Namespace) -> Outcome:
    cancelled = client.cancel_order(args.order_id)
    note = (
        f"the order is {cancelled.status}\n" if cancelled.status in ("CANCELLED", "FILLED", "REJECTED")
        else "cancel requested: the order keeps its state until the broker confirms\n"
    )
    return Outcome(_shown(args, cancelled, lambda: note + views.record(cancelled)))


def positions(client: Any, args: argparse.Namespace) -> Outcome:
    held = client.get_positions(args.strategy)
    # Without --strategy the server answers the account's positions (every strategy summed),
    # which carry no strategy id: the heading says whose they are, and no column is left blank.
    heading = f"positions of strategy {args.strategy}" if args.strategy else "account positions (every strategy)"
    columns = views.POSITION_COLUMNS if args.strategy else views.POSITION_COLUMNS[1:]
    return Outcome(_shown(args, held, lambda: heading + "\n" + views.table_of(columns, held, empty="(no positions)")))


def kill_switch(client: Any, args: argparse.Namespace) -> Outcome:
    if args.state is None:
        status = client.get_risk_status()
        return Outcome(_shown(args, status, lambda: views.record(status)))
    extra = {"cancel_open_orders": True} if args.cancel_open_orders else {}
    result = client.set_kill_switch(args.state == "on", reason=args.reason.strip(), **extra)
    return Outcome(_shown(args, result, lambda: views.record(result)))


def reconcile(client: Any, args: argparse.Namespace) -> Outcome:
    result = client.reconcile(repair=args.repair)
    code = ExitCode.DISCREPANCIES if result.has_discrepancies else ExitCode.OK
    return Outcome(_shown(args, result, lambda: views.reconcile_report(result)), code)


ONE_SHOT: dict[str, Callable[[Any, argparse.Namespace], Outcome]] = {
    "orders": orders,
    "order": order,
    "cancel": cancel,
    "positions": positions,
    "kill-switch": kill_switch,
    "reconcile": reconcile,
}
