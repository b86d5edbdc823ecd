"""A loopback emulator of the parts of Alpaca's Trading API that the adapter uses.

REST `/v2` and the `trade_updates` websocket on one port, following ALPACA_API.md to the
field, with settable prices and injectable faults. Start it in-process with
`AlpacaEmulator` or from the command line with `execution-server alpaca-emulator`.
"""

from execution_server.brokers.alpaca.emulator.config import EmulatorConfig
from execution_server.brokers.alpaca.emulator.server import AlpacaEmulator, EmulatorServer

__all__ = ["AlpacaEmulator", "EmulatorConfig", "EmulatorServer"]
