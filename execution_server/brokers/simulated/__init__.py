"""The simulated paper broker: the default broker, with no keys and no network.

engine.py decides (pure), ledger.py holds the state, journal.py keeps it across restarts,
broker.py is the async BrokerClient adapter with the simulator's controls and test hooks,
session_close.py the timer that closes its market every day.
"""

from execution_server.brokers.simulated.broker import SimulatedBroker
from execution_server.brokers.simulated.engine import MatchingEngine
from execution_server.brokers.simulated.settings import DEFAULT_REFERENCE_PRICES, SimulatorSettings

__all__ = ["DEFAULT_REFERENCE_PRICES", "MatchingEngine", "SimulatedBroker", "SimulatorSettings"]
