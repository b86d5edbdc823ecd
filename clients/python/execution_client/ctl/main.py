"""execution-ctl's entry point: parse, run the command, turn failures into the documented exit
codes with a message on stderr (the violations one per line)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from execution_client import BlockingExecutionClient, ExecutionError
from execution_client.ctl.arguments import parse
from execution_client.ctl.commands import ONE_SHOT
from execution_client.ctl.connection import TokenFileError, client_options
from execution_client.ctl.exit_codes import ExitCode, exit_code_for


def error_text(error: ExecutionError) -> str:
    """The status and message, then each field violation on a line of its own. A message that
    only repeats the violations (the server writes them into it too) is not printed twice."""
    violations = [f"{violation.field}: {violation.description}" for violation in error.violations]
    repeated = bool(violations) and all(text in error.message for text in violations)
    head = f"execution-ctl: {error.code.name}" + ("" if repeated else f": {error.message}")
    return "\n".join([head, *(f"  {text}" for text in violations)])


def run(argv: list[str] | None = None, environ: Mapping[str, str] | None = None,
        stdout: TextIO | None = None, stderr: TextIO | None = None) -> ExitCode:
    environ = os.environ if environ is None else environ
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = parse(argv, environ)  # a usage error exits 2 here, argparse's way
    try:
        options = client_options(args, environ)
        if args.command == "watch":
            from execution_client.ctl.watch_terminal import watch

            asyncio.run(watch(options, args.address, args.strategy, sys.stdin, stdout))
            return ExitCode.OK
        with BlockingExecutionClient(args.address, **options) as client:
            outcome = ONE_SHOT[args.command](client, args)
    except ExecutionError as error:
        print(error_text(error), file=stderr)
        return exit_code_for(error.code)
    except (TokenFileError, OSError, ValueError) as error:
        # An unreadable token, certificate or key file, or TLS options that do not go together.
        print(f"execution-ctl: {error}", file=stderr)
        return ExitCode.USAGE
    print(outcome.text, file=stdout)
    return outcome.code


def main() -> int:
    try:
        return int(run())
    except KeyboardInterrupt:
        return 130  # the shell's convention for a command ended by SIGINT
