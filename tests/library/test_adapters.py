"""The library's face of the broker adapters: the same methods on both, and AlpacaClient's
keyword form (base_url and the stream URL defaulted as the service's settings default them)."""

from __future__ import annotations

import inspect

import pytest

from execution_server import AlpacaClient, SimulatedBroker
from execution_server.config import LIVE_URL, PAPER_URL, Settings

LIBRARY_METHODS = ["place_order", "cancel_order", "get_positions", "get_account"]


@pytest.mark.parametrize("name", LIBRARY_METHODS)
def test_both_adapters_have_the_library_methods_with_one_signature(name: str) -> None:
    alpaca, simulated = getattr(AlpacaClient, name), getattr(SimulatedBroker, name)
    assert inspect.iscoroutinefunction(alpaca) and inspect.signature(alpaca) == inspect.signature(simulated)


@pytest.mark.parametrize(("paper", "rest", "stream"), [
    (True, PAPER_URL, "wss://paper-api.alpaca.markets/stream"),
    (False, LIVE_URL, "wss://api.alpaca.markets/stream"),
])
async def test_the_keyword_form_defaults_the_hosts_as_the_settings_do(paper: bool, rest: str, stream: str) -> None:
    client = AlpacaClient(api_key="key", secret_key="secret", paper=paper)
    try:
        assert (client.base_url, client.stream_url, client.paper) == (rest, stream, paper)
        settings = Settings.model_construct(alpaca_base_url=rest, alpaca_stream_url="")  # only the URL rule
        assert client.stream_url == settings.effective_alpaca_stream_url
    finally:
        await client.close()


async def test_base_url_reaches_another_host_and_its_stream() -> None:
    client = AlpacaClient(api_key="key", secret_key="secret", paper=True, base_url="http://127.0.0.1:8790/")
    try:
        assert (client.base_url, client.stream_url) == ("http://127.0.0.1:8790", "ws://127.0.0.1:8790/stream")
    finally:
        await client.close()
