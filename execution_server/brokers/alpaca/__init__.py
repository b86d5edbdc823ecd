"""Alpaca through alpaca-py: the adapter, its mapping tables, and a loopback emulator of the Trading API."""
