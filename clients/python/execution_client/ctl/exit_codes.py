"""The exit codes scripts can rely on: one table, shown in --help and the README.

They are a contract, so numbers are never reused for something else; a new kind of failure
gets a new number.
"""

from __future__ import annotations

import enum

import grpc


class ExitCode(enum.IntEnum):
    OK = 0
    DISCREPANCIES = 1       # reconcile found differences with the broker: a cron job alerts on it
    USAGE = 2               # the command line is wrong (argparse's own code)
    NOT_FOUND = 3
    NOT_ALLOWED = 4         # no or unknown token, or the token may not do this
    REFUSED = 5             # the request is invalid or the order's state forbids it
    UNREACHABLE = 6         # the server is unavailable or the deadline passed
    FAILED = 7              # any other error the server reported


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.DISCREPANCIES: "reconcile found discrepancies",
    ExitCode.USAGE: "usage error",
    ExitCode.NOT_FOUND: "not found",
    ExitCode.NOT_ALLOWED: "unauthenticated or permission denied",
    ExitCode.REFUSED: "invalid argument, failed precondition or already exists (violations printed)",
    ExitCode.UNREACHABLE: "server unavailable or deadline exceeded",
    ExitCode.FAILED: "any other server error (resource exhausted, internal, ...)",
}

_BY_STATUS: dict[grpc.StatusCode, ExitCode] = {
    grpc.StatusCode.NOT_FOUND: ExitCode.NOT_FOUND,
    grpc.StatusCode.UNAUTHENTICATED: ExitCode.NOT_ALLOWED,
    grpc.StatusCode.PERMISSION_DENIED: ExitCode.NOT_ALLOWED,
    grpc.StatusCode.INVALID_ARGUMENT: ExitCode.REFUSED,
    grpc.StatusCode.FAILED_PRECONDITION: ExitCode.REFUSED,
    grpc.StatusCode.ALREADY_EXISTS: ExitCode.REFUSED,
    grpc.StatusCode.OUT_OF_RANGE: ExitCode.REFUSED,
    grpc.StatusCode.UNAVAILABLE: ExitCode.UNREACHABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ExitCode.UNREACHABLE,
}


def exit_code_for(status: grpc.StatusCode) -> ExitCode:
    return _BY_STATUS.get(status, ExitCode.FAILED)


def help_table() -> str:
    return "exit codes:\n" + "\n".join(f"  {int(code)}  {meaning}" for code, meaning in MEANINGS.items())
