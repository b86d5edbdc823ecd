"""The execution engine, as a service (`execution-server serve`) and as a Python library:

    from execution_server import AlpacaClient, OrderManagementSystem, PositionTracker, SimulatedBroker
    from execution_server.schemas import OrderRequest

The names are imported when first used (PEP 562), so that the server's own imports, and a
script that wants only one of them, do not load every adapter (alpaca-py brings pandas).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from execution_server.brokers.alpaca.client import AlpacaClient
    from execution_server.brokers.simulated import SimulatedBroker
    from execution_server.embedded import OrderManagementSystem
    from execution_server.positions.tracker import PositionTracker

_EXPORTS = {
    "AlpacaClient": "execution_server.brokers.alpaca.client",
    "OrderManagementSystem": "execution_server.embedded",
    "PositionTracker": "execution_server.positions.tracker",
    "SimulatedBroker": "execution_server.brokers.simulated",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'execution_server' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
