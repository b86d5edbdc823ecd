"""Alpaca's hosts, and the trade_updates websocket of a REST host: one definition for the
service's settings (config.py) and the adapter built in code (AlpacaClient). Pure."""

from __future__ import annotations

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"  # market data, for paper and live accounts alike


def stream_url_for(base_url: str) -> str:
    """https→wss, http→ws, the path /stream: Alpaca's own pairs (paper-api…/stream,
    api…/stream), and the emulator's."""
    scheme, _, rest = base_url.rstrip("/").partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/stream"
