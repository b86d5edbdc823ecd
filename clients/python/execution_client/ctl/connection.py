"""The client the command line asks for: address, token and TLS from flags and environment."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from execution_client.ctl.arguments import TOKEN_VARIABLE


class TokenFileError(Exception):
    """The token file named on the command line cannot be read or is empty."""


def token_from(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """--token-file wins over EXECUTION_TOKEN; surrounding blanks (a trailing newline) are not
    part of a token."""
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise TokenFileError(f"--token-file {args.token_file}: {error.strerror or error}") from None
        if not token:
            raise TokenFileError(f"--token-file {args.token_file}: the file is empty")
        return token
    return environ.get(TOKEN_VARIABLE, "").strip() or None


def client_options(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments for ExecutionClient / BlockingExecutionClient."""
    return {
        "token": token_from(args, environ),
        # Any TLS option asks for TLS: --ca-file alone is the common case (a private CA).
        "tls": bool(args.tls or args.ca_file or args.cert_file or args.key_file or args.server_name),
        "ca_file": args.ca_file,
        "cert_file": args.cert_file,
        "key_file": args.key_file,
        "server_name": args.server_name,
        "timeout": args.timeout,
    }
