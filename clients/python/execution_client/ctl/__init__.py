"""execution-ctl, the operator CLI: `python -m execution_client.ctl --help`."""

from execution_client.ctl.main import main

__all__ = ["main"]
