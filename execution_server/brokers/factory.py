"""Choosing the broker adapter from the settings: the only place that knows them all."""

from __future__ import annotations

from execution_server.brokers.base import BrokerClient
from execution_server.config import ConfigError, Settings


def build_broker(settings: Settings) -> BrokerClient:
    if settings.broker == "simulated":
        from execution_server.brokers.simulated import SimulatedBroker, SimulatorSettings

        sim = settings.simulator
        # Ids carry the broker's lifetime (facts.order_id_for): with or without a state file
        # they never repeat, so the service's database never sees one twice.
        return SimulatedBroker(
            SimulatorSettings(
                reference_prices=sim.effective_reference_prices,  # what check-config shows
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
    if settings.broker == "alpaca":
        # The settings are complete and consistent (config.py checked them: keys, mode and URLs).
        from execution_server.brokers.alpaca.client import AlpacaClient

        return AlpacaClient.from_settings(settings)
    raise ConfigError("EXECUTION_BROKER", f"no adapter for {settings.broker!r} in this version")
