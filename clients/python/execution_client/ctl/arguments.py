"""The command line: one argparse parser. Connection options go before or after the command."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from execution_client.ctl.exit_codes import help_table

DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_VARIABLE = "EXECUTION_ADDRESS"
TOKEN_VARIABLE = "EXECUTION_TOKEN"
STATUSES = ("PENDING", "SUBMITTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED")
# `--status OPEN`: every state an order can still change from.
OPEN_STATUSES = ("PENDING", "SUBMITTED", "PARTIALLY_FILLED")

DESCRIPTION = "Operate an execution-server: orders, positions, the kill switch, reconciliation, a live view."
EPILOG = f"""\
environment:
  {ADDRESS_VARIABLE}  the server's host:port (default {DEFAULT_ADDRESS}; --address wins)
  {TOKEN_VARIABLE}    the bearer token (never a flag: a flag's value shows in ps); or --token-file

{help_table()}
"""


def _status(text: str) -> str:
    status = text.strip().upper()
    if status != "OPEN" and status not in STATUSES:
        raise argparse.ArgumentTypeError(f"unknown status {text!r} (OPEN, {', '.join(STATUSES)})")
    return status


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _connection_options(parser: argparse.ArgumentParser, environ: Mapping[str, str], top: bool) -> None:
    # Beside the command the options are SUPPRESSed when absent, so that the value given before
    # the command (or the default) is not overwritten by a subparser's default.
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("connection")
    group.add_argument("--address", default=default(environ.get(ADDRESS_VARIABLE) or DEFAULT_ADDRESS),
                       help=f"host:port (env {ADDRESS_VARIABLE}, default {DEFAULT_ADDRESS})")
    group.add_argument("--token-file", default=default(None), metavar="PATH",
                       help=f"read the token from this file instead of {TOKEN_VARIABLE}")
    group.add_argument("--ca-file", default=default(None), metavar="PATH", help="TLS: the CA that signs the server")
    group.add_argument("--cert-file", default=default(None), metavar="PATH", help="mutual TLS: this client's certificate")
    group.add_argument("--key-file", default=default(None), metavar="PATH", help="mutual TLS: its key")
    group.add_argument("--server-name", default=default(None), help="TLS: the name the certificate must carry")
    group.add_argument("--tls", action="store_true", default=default(False),
                       help="TLS with the system's CAs (implied by --ca-file)")
    group.add_argument("--timeout", type=float, default=default(10.0), metavar="SECONDS",
                       help="deadline of each call (default 10)")
    group.add_argument("--json", action="store_true", default=default(False),
                       help="print JSON for scripts instead of tables")


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="execution-ctl", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # `--token` must not pass for --token-file, nor any prefix for a flag
    )
    _connection_options(parser, environ, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
        _connection_options(sub, environ, top=False)
        return sub

    orders = command("orders", "list orders, newest first as the server pages them")
    orders.add_argument("--strategy", help="only this strategy's orders")
    orders.add_argument("--symbol", help="only this symbol's orders")
    orders.add_argument("--status", type=_status, action="append", metavar="STATUS",
                        help=f"OPEN or one of {', '.join(STATUSES)} (repeat for several)")
    orders.add_argument("--limit", type=_positive, metavar="N", help="at most N orders")

    order = command("order", "show one order")
    order.add_argument("order_id", metavar="ID")
    cancel = command("cancel", "ask the broker to cancel an order")
    cancel.add_argument("order_id", metavar="ID")

    positions = command("positions", "positions per strategy and symbol")
    positions.add_argument("--strategy", help="only this strategy's positions")

    kill = command("kill-switch", "show the kill switch, or engage (on) or release (off) it")
    kill.add_argument("state", nargs="?", choices=("on", "off"), help="omit to show the status")
    kill.add_argument("--reason", help="why (required with on and off: it goes to the audit trail)")
    kill.add_argument("--cancel-open-orders", action="store_true", help="with on: cancel every open order too")

    reconcile = command("reconcile", "compare our books with the broker's (exit 1 on discrepancies)")
    reconcile.add_argument("--repair", action="store_true", help="repair what can be repaired")

    watch = command("watch", "live view of open orders, recent fills and positions (q or Ctrl-C quits)")
    watch.add_argument("--strategy", help="only this strategy")
    return parser


def parse(argv: list[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    if args.command == "kill-switch" and args.state is not None and not (args.reason or "").strip():
        parser.error(f"kill-switch {args.state} needs --reason TEXT")
    if args.command == "kill-switch" and args.state is None and (args.reason or args.cancel_open_orders):
        parser.error("--reason and --cancel-open-orders go with kill-switch on|off")
    return args
