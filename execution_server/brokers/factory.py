"""Choosing the broker adapter from the settings: the only place that knows them all."""

from __future__ import annotations

import time

from execution_server.brokers.base import BrokerClient
from execution_server.config import ConfigError, Settings


def build_broker(settings: Settings) -> BrokerClient:
    if settings.broker == "simulated":
        from execution_server.brokers.simulated import DEFAULT_REFERENCE_PRICES, SimulatedBroker, SimulatorSettings

        sim = settings.simulator
        broker = SimulatedBroker(
            SimulatorSettings(
                reference_prices={**DEFAULT_REFERENCE_PRICES, **sim.reference_prices},
                default_price=sim.default_price,
                state_path=sim.state_path,
                ack_latency_seconds=sim.ack_latency_seconds,
                reject_fraction=sim.reject_fraction,
                unknown_outcome_fraction=sim.unknown_outcome_fraction,
                ticker_interval_seconds=sim.ticker_interval_seconds,
                seed=sim.seed,
                ticker_seed=sim.seed,
                starting_cash=sim.starting_cash,
            )
        )
        if sim.state_path is None:
            # Without a state file a restarted broker would hand out sim-1 and sim-exec-1 again,
            # and the service (whose database remembers execution ids) would drop the new fill
            # as a duplicate. Number from the clock instead, so ids never repeat.
            first = time.time_ns() // 1_000
            broker.engine.ledger.next_order_seq = first
            broker.engine.ledger.next_execution_seq = first
        return broker
    # The Alpaca adapter (alpaca-py against the broker or its loopback emulator) plugs in here.
    raise ConfigError("EXECUTION_BROKER", f"no adapter for {settings.broker!r} in this version")
